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
}
