namespace Microsoft.ML.Mask2Former.PostProcessing;

/// <summary>
/// Options of the mmdetection compatible post-processing (<see cref="MmDetectionPostProcessor"/>):
/// the <c>test_cfg</c> keys that mmdetection 2.25's <c>MaskFormerFusionHead</c> reads, with the
/// defaults it uses when a key is absent.
/// </summary>
public sealed class MmDetectionOptions
{
    /// <summary>
    /// Panoptic: a query is kept when its best class is not "no object" and its probability is
    /// strictly greater than this (compared in float32). Default 0.8 (<c>object_mask_thr</c>).
    /// </summary>
    public double ObjectMaskThreshold { get; set; } = 0.8;

    /// <summary>
    /// Panoptic: a kept query becomes a segment unless the pixels it wins divided by its own area
    /// (mask probability ≥ 0.5) is below this; a ratio equal to it passes. Default 0.8 (<c>iou_thr</c>).
    /// </summary>
    public double IouThreshold { get; set; } = 0.8;

    /// <summary>
    /// Panoptic: whether a segment keeps only the pixels it wins whose own mask probability is at
    /// least 0.5 (the rest become void); otherwise it keeps every pixel it wins. Default
    /// <see langword="false"/> (<c>filter_low_score</c>; mmdetection's default when the key is
    /// absent. The Mask2Former + ViT-Adapter COCO panoptic configs set it to <see langword="true"/>).
    /// </summary>
    public bool FilterLowScore { get; set; }

    /// <summary>
    /// Instances: how many (query, class) pairs the top-k keeps by class probability, before the
    /// pairs of stuff classes are dropped. Default 100 (<c>max_per_image</c>). mmdetection fails
    /// when this exceeds queries × classes; here every pair is kept then.
    /// </summary>
    public int MaxPerImage { get; set; } = 100;

    /// <summary>
    /// The thing class indices (0 … K−1); every other class is stuff. mmdetection's things are the
    /// first <c>num_things_classes</c> classes, so set this to 0 … <c>num_things_classes</c> − 1
    /// to reproduce it. Default empty (everything is stuff).
    /// </summary>
    public IReadOnlyCollection<int> ThingClasses { get; set; } = Array.Empty<int>();
}
