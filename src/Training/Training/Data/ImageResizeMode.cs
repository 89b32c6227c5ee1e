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
    /// The DETR-style multi-scale recipe of the ViT-Adapter COCO configs (mmdetection's <c>AutoAugment</c>
    /// of two policies, one drawn per image with equal odds), with the optional flip; the size option is not used:
    /// either the shortest edge resized to one of 480, 512, …, 800 with the longest edge at most 1333; or the
    /// shortest edge resized to 400, 500 or 600 (longest at most 1333), a random crop of 384–600 × 384–600
    /// pixels (at most the image; segments left outside are not targets, and a crop without any segment is
    /// kept), and that crop resized to a shortest edge of 480, 512, …, 800 (longest at most 1333). The batch pads.
    /// </summary>
    MultiScale,
}
