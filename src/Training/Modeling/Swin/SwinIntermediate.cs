namespace Microsoft.ML.Mask2Former.Training.Modeling.Swin;

/// <summary>First half of the block MLP: linear to <c>mlp_ratio · dim</c>, then exact (erf) GELU.</summary>
public sealed class SwinIntermediate : nn.Module<Tensor, Tensor>
{
    private readonly Linear dense;

    /// <summary>Creates the layer for <paramref name="dim"/> channels.</summary>
    public SwinIntermediate(SwinConfig config, int dim) : base(nameof(SwinIntermediate))
    {
        dense = nn.Linear(dim, (long)(config.MlpRatio * dim));
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        return nn.functional.gelu(dense.forward(input)).MoveToOuterDisposeScope();
    }
}
