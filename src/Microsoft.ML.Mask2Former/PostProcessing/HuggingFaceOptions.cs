namespace Microsoft.ML.Mask2Former.PostProcessing;

/// <summary>
/// Options of the Hugging Face compatible post-processing (<see cref="HuggingFacePostProcessor"/>,
/// <c>Mask2FormerImageProcessor.post_process_*_segmentation</c> of transformers 4.48).
/// </summary>
public sealed class HuggingFaceOptions
{
    /// <summary>
    /// Panoptic: a query is kept when its probability is strictly above this (float32 comparison);
    /// instance: an instance is kept when its score is at least this. Default 0.5 (<c>threshold</c>).
    /// </summary>
    public double Threshold { get; set; } = 0.5;

    /// <summary>Panoptic: a pixel belongs to a query's own area when its score-weighted probability is at least this. Default 0.5 (<c>mask_threshold</c>).</summary>
    public double MaskThreshold { get; set; } = 0.5;

    /// <summary>Panoptic: a query becomes a segment only when visible area / own area is strictly greater than this. Default 0.8 (<c>overlap_mask_area_threshold</c>).</summary>
    public double OverlapMaskAreaThreshold { get; set; } = 0.8;

    /// <summary>Panoptic: labels whose queries share one segment id (<c>label_ids_to_fuse</c>). Default empty.</summary>
    public IReadOnlyCollection<int> LabelIdsToFuse { get; set; } = Array.Empty<int>();

    /// <summary>The size Hugging Face resizes the mask logits to first. Default 384 (hard-coded there).</summary>
    public int ResizeSize { get; set; } = 384;

    /// <summary>
    /// The output size (<c>target_sizes[i]</c>), or <see langword="null"/> for
    /// <see cref="ResizeSize"/>×<see cref="ResizeSize"/>. Default <see langword="null"/>.
    /// </summary>
    public (int Height, int Width)? TargetSize { get; set; }
}
