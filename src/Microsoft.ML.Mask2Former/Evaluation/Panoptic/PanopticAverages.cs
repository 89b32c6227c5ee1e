namespace Microsoft.ML.Mask2Former.Evaluation;

/// <summary>PQ, SQ and RQ averaged over a set of categories (all, things or stuff).</summary>
/// <param name="PanopticQuality">PQ = SQ × RQ per class, averaged over the categories counted.</param>
/// <param name="SegmentationQuality">SQ: mean IoU of the matched segments, averaged over the categories counted.</param>
/// <param name="RecognitionQuality">RQ: tp / (tp + ½fp + ½fn), averaged over the categories counted.</param>
/// <param name="CategoryCount">How many categories were counted (those with tp + fp + fn &gt; 0); 0 leaves the averages NaN.</param>
public sealed record PanopticAverages(double PanopticQuality, double SegmentationQuality, double RecognitionQuality, int CategoryCount);
