namespace Microsoft.ML.Mask2Former.Evaluation;

/// <summary>
/// Per-category panoptic matching counts: true positives, false positives, false negatives and
/// the sum of the IoUs of the true positives. These four numbers determine PQ, SQ and RQ.
/// </summary>
/// <param name="TruePositives">Matched (IoU &gt; 0.5) ground-truth / prediction pairs.</param>
/// <param name="FalsePositives">Unmatched predictions that are not mostly void or same-category crowd.</param>
/// <param name="FalseNegatives">Unmatched non-crowd ground-truth segments.</param>
/// <param name="IouSum">Sum of the IoU over the true positives.</param>
public readonly record struct PanopticCounts(long TruePositives, long FalsePositives, long FalseNegatives, double IouSum)
{
    /// <summary>Adds two sets of counts (IoU sums in the order given: left, then right).</summary>
    public static PanopticCounts operator +(PanopticCounts a, PanopticCounts b) =>
        new(a.TruePositives + b.TruePositives, a.FalsePositives + b.FalsePositives, a.FalseNegatives + b.FalseNegatives, a.IouSum + b.IouSum);

    /// <summary><see langword="true"/> when the category never occurred (tp + fp + fn = 0); such categories are left out of averages.</summary>
    public bool IsEmpty => TruePositives + FalsePositives + FalseNegatives == 0;
}
