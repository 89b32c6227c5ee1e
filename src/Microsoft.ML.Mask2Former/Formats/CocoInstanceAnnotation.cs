namespace Microsoft.ML.Mask2Former.Formats;

/// <summary>One ground-truth object of a COCO instance file (<c>annotations[i]</c>).</summary>
/// <param name="Id">The annotation id, unique in the file.</param>
/// <param name="ImageId">The image it belongs to (as text, like <see cref="CocoImage.Id"/>).</param>
/// <param name="CategoryId">Its category.</param>
/// <param name="IsCrowd"><see langword="true"/> for a crowd region: never a miss, and a detection on it is ignored rather than false.</param>
/// <param name="Area">The <c>area</c> field, which COCOeval uses for the small / medium / large ranges (not the mask's pixel count).</param>
/// <param name="BoundingBox">[x, y, width, height], needed for box AP; <see langword="null"/> when absent.</param>
/// <param name="Segmentation">Polygons or RLE, needed for mask AP; <see langword="null"/> when absent.</param>
public sealed record CocoInstanceAnnotation(long Id, string ImageId, int CategoryId, bool IsCrowd, double Area,
    IReadOnlyList<double>? BoundingBox, CocoSegmentation? Segmentation);
