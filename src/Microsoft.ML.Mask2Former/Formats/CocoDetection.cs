namespace Microsoft.ML.Mask2Former.Formats;

/// <summary>
/// One entry of a COCO results file: a scored detection with a box, a mask, or both. The
/// evaluator derives what a result lacks the way pycocotools' <c>loadRes</c> does.
/// </summary>
/// <param name="ImageId">The image (as text, like <see cref="CocoImage.Id"/>); must exist in the ground truth.</param>
/// <param name="CategoryId">The predicted category.</param>
/// <param name="Score">Confidence; detections are ranked by it (ties keep file order).</param>
/// <param name="BoundingBox">[x, y, width, height], or <see langword="null"/>.</param>
/// <param name="Segmentation">The mask (usually a compressed RLE), or <see langword="null"/>.</param>
public sealed record CocoDetection(string ImageId, int CategoryId, double Score, IReadOnlyList<double>? BoundingBox = null,
    CocoSegmentation? Segmentation = null);
