namespace Microsoft.ML.Mask2Former.Training.Modeling.Swin;

/// <summary>Output projection of the window attention.</summary>
public sealed class SwinSelfOutput : nn.Module<Tensor, Tensor>
{
    private readonly Linear dense;

    /// <summary>Creates the projection for <paramref name="dim"/> channels.</summary>
    public SwinSelfOutput(int dim) : base(nameof(SwinSelfOutput))
    {
        dense = nn.Linear(dim, dim);
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor input) => dense.forward(input);
}
