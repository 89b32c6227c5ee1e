namespace Microsoft.ML.Mask2Former.Training.Data;

/// <summary>How training images are brought to the training size.</summary>
public enum ImageResizeMode
{
    /// <summary>
    /// Large-scale jitter (the Mask2Former COCO recipe): random horizontal flip, resize by a random
    /// factor in [min, max] × the factor that fits the image into size × size, then a random
    /// size × size crop, padded when the image is smaller. Every example is size × size.
    /// </summary>
    LargeScaleJitter,

    /// <summary>Resize to fit into size × size, keeping the aspect ratio (with the optional flip); the batch pads.</summary>
    Resize,

    /// <summary>
    /// The seed's multi-scale augmentation (DETR-style, as the ViT-Adapter Mask2Former recipe's
    /// AutoAugment): after the optional flip, with probability ½ the shortest edge becomes one of
    /// 480, 512, …, 800 with the long edge at most 1333; otherwise the shortest edge becomes 400, 500
    /// or 600 (long edge ≤ 1333), a random crop of 384–600 pixels a side is taken (mmdetection's
    /// <c>absolute_range</c>, a side shorter than 384 kept whole), and the crop's shortest edge becomes
    /// 480 … 800 (long edge ≤ 1333). The sizes are the recipe's, whatever the training size; the two
    /// resizes of the second branch are done as one resample. The batch pads.
    /// </summary>
    MultiScale,
}
