namespace Microsoft.ML.Mask2Former.Training.Losses;

/// <summary>
/// Settings of <see cref="Mask2FormerCriterion"/>; the defaults are those of the Mask2Former
/// configurations (detectron2 <c>MODEL.MASK_FORMER.*</c>, Hugging Face <c>Mask2FormerConfig</c>).
/// </summary>
public sealed class Mask2FormerCriterionOptions
{
    /// <summary>Weight of the classification loss in the total. Default 2.0 (<c>CLASS_WEIGHT</c>).</summary>
    public double ClassWeight { get; init; } = 2.0;

    /// <summary>Weight of the sigmoid cross-entropy mask loss in the total. Default 5.0 (<c>MASK_WEIGHT</c>).</summary>
    public double MaskWeight { get; init; } = 5.0;

    /// <summary>Weight of the dice loss in the total. Default 5.0 (<c>DICE_WEIGHT</c>).</summary>
    public double DiceWeight { get; init; } = 5.0;

    /// <summary>Cross-entropy weight of the "no object" class (every other class weighs 1). Default 0.1 (<c>NO_OBJECT_WEIGHT</c>, eos_coef).</summary>
    public double NoObjectWeight { get; init; } = 0.1;

    /// <summary>Points per matched mask for the mask losses. Default 112 × 112 = 12,544 (<c>TRAIN_NUM_POINTS</c>).</summary>
    public int NumPoints { get; init; } = 12544;

    /// <summary>Uniform candidates drawn per point before importance selection. Default 3.0 (<c>OVERSAMPLE_RATIO</c>).</summary>
    public double OversampleRatio { get; init; } = 3.0;

    /// <summary>Share of the points taken from the most uncertain candidates (the rest are uniform). Default 0.75 (<c>IMPORTANCE_SAMPLE_RATIO</c>).</summary>
    public double ImportanceSampleRatio { get; init; } = 0.75;

    /// <summary>Whether the auxiliary predictions get the same losses (keys suffixed <c>_0</c>, <c>_1</c>, …). Default true (<c>DEEP_SUPERVISION</c>).</summary>
    public bool DeepSupervision { get; init; } = true;

    /// <summary>The matcher's settings. Default: <see cref="HungarianMatcherOptions"/>'s defaults (costs 2, 5, 5; 12,544 points).</summary>
    public HungarianMatcherOptions Matcher { get; init; } = new();

    internal void Validate()
    {
        foreach (var (name, value) in new[] { (nameof(ClassWeight), ClassWeight), (nameof(MaskWeight), MaskWeight), (nameof(DiceWeight), DiceWeight), (nameof(NoObjectWeight), NoObjectWeight) })
        {
            if (!double.IsFinite(value) || value < 0) throw new ArgumentException($"{name} must be finite and non-negative, got {value}");
        }
        if (NumPoints < 1) throw new ArgumentException($"{nameof(NumPoints)} must be positive, got {NumPoints}");
        if (!(OversampleRatio >= 1) || !double.IsFinite(OversampleRatio))
            throw new ArgumentException($"{nameof(OversampleRatio)} must be at least 1, got {OversampleRatio}");
        if (!(ImportanceSampleRatio >= 0 && ImportanceSampleRatio <= 1))
            throw new ArgumentException($"{nameof(ImportanceSampleRatio)} must be in [0, 1], got {ImportanceSampleRatio}");
        ArgumentNullException.ThrowIfNull(Matcher, nameof(Matcher));
    }
}
