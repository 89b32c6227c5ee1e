namespace Microsoft.ML.Mask2Former.Formats;

/// <summary>One entry of an annotation's <c>segments_info</c>.</summary>
/// <param name="Id">The segment id, as encoded in the PNG (R + 256·G + 256²·B); never 0 (void).</param>
/// <param name="CategoryId">The category of the segment.</param>
/// <param name="IsCrowd"><see langword="true"/> for a crowd region (ignored when matching, absorbs false positives).</param>
/// <param name="Area">
/// The pixel area from the JSON <c>area</c> field, or <see langword="null"/> when absent. The PQ
/// evaluator uses it for ground truth (as panopticapi does) and recounts predictions from the PNG.
/// </param>
/// <param name="BoundingBox">[x, y, width, height] from the JSON, or <see langword="null"/> when absent.</param>
public sealed record CocoPanopticSegment(uint Id, int CategoryId, bool IsCrowd = false, long? Area = null, IReadOnlyList<double>? BoundingBox = null);
