namespace Microsoft.ML.Mask2Former.Formats;

/// <summary>One entry of a COCO panoptic <c>annotations</c> list: the segment-map PNG of one image and its segments.</summary>
/// <param name="ImageId">The image id, as text.</param>
/// <param name="FileName">The segment-map PNG's file name, relative to the PNG folder.</param>
/// <param name="Segments">The segments in JSON order (order matters: the last crowd segment of a category is the one PQ uses).</param>
public sealed record CocoPanopticAnnotation(string ImageId, string FileName, IReadOnlyList<CocoPanopticSegment> Segments);
