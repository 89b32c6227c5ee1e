namespace Microsoft.ML.Mask2Former.Training.Modeling.Swin;

/// <summary>Second half of the block MLP: linear back to <c>dim</c>.</summary>
public sealed class SwinOutput : nn.Module<Tensor, Tensor>
{
    private readonly Linear dense;

    /// <summary>Creates the layer for <paramref name="dim"/> channels.</summary>
    public SwinOutput(SwinConfig config, int dim) : base(nameof(SwinOutput))
    {
        dense = nn.Linear((long)(config.MlpRatio * dim), dim);
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor input) => dense.forward(input);
}
