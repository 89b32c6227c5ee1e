namespace Microsoft.ML.Mask2Former.Training.Modeling;

/// <summary>
/// The classification loss weights stored in every Hugging Face checkpoint as
/// <c>criterion.empty_weight</c>: 1 for each class and <c>no_object_weight</c> for "no object".
/// </summary>
public sealed class ClassWeights : nn.Module
{
    private readonly Tensor empty_weight;

    /// <summary>Creates the weights of <paramref name="config"/>.</summary>
    public ClassWeights(Mask2FormerConfig config) : base(nameof(ClassWeights))
    {
        var weights = ones(config.NumLabels + 1);
        weights[config.NumLabels] = (float)config.NoObjectWeight;
        // Module state must outlive any dispose scope the module is created in.
        empty_weight = weights.DetachFromDisposeScope();
        RegisterComponents();
    }

    /// <summary>The weights [K + 1] (the module's own tensor: do not dispose).</summary>
    public Tensor Weights => empty_weight;
}
