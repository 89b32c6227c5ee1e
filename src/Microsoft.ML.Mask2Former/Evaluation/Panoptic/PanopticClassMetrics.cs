namespace Microsoft.ML.Mask2Former.Evaluation;

/// <summary>PQ / SQ / RQ and the underlying counts of one category.</summary>
/// <param name="CategoryId">The category id.</param>
/// <param name="Name">The category name.</param>
/// <param name="IsThing">Whether the category is a thing (else stuff).</param>
/// <param name="PanopticQuality">PQ (0 when the category never occurred, as in panopticapi).</param>
/// <param name="SegmentationQuality">SQ (0 when there is no true positive).</param>
/// <param name="RecognitionQuality">RQ.</param>
/// <param name="Counts">True positives, false positives, false negatives and the IoU sum.</param>
public sealed record PanopticClassMetrics(int CategoryId, string Name, bool IsThing, double PanopticQuality,
    double SegmentationQuality, double RecognitionQuality, PanopticCounts Counts)
{
    /// <summary><see langword="false"/> when the category never occurred (it is then left out of the averages).</summary>
    public bool IsCounted => !Counts.IsEmpty;
}
