namespace Microsoft.ML.Mask2Former.Training.Losses;

/// <summary>
/// Settings of <see cref="HungarianMatcher"/>; the defaults are those of the Mask2Former paper's
/// configurations (detectron2 <c>MODEL.MASK_FORMER.*</c>, Hugging Face <c>Mask2FormerConfig</c>).
/// </summary>
public sealed class HungarianMatcherOptions
{
    /// <summary>Weight of the classification cost (minus the softmax probability of the target class). Default 2.0 (<c>CLASS_WEIGHT</c>).</summary>
    public double ClassCost { get; init; } = 2.0;

    /// <summary>Weight of the sigmoid binary cross-entropy mask cost. Default 5.0 (<c>MASK_WEIGHT</c>).</summary>
    public double MaskCost { get; init; } = 5.0;

    /// <summary>Weight of the dice cost. Default 5.0 (<c>DICE_WEIGHT</c>).</summary>
    public double DiceCost { get; init; } = 5.0;

    /// <summary>Points sampled uniformly per image, shared by all masks of the image. Default 112 × 112 = 12,544 (<c>TRAIN_NUM_POINTS</c>).</summary>
    public int NumPoints { get; init; } = 12544;

    internal void Validate()
    {
        foreach (var (name, value) in new[] { (nameof(ClassCost), ClassCost), (nameof(MaskCost), MaskCost), (nameof(DiceCost), DiceCost) })
        {
            if (!double.IsFinite(value) || value < 0) throw new ArgumentException($"{name} must be finite and non-negative, got {value}");
        }
        if (NumPoints < 1) throw new ArgumentException($"{nameof(NumPoints)} must be positive, got {NumPoints}");
    }
}
