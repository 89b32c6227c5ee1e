namespace Microsoft.ML.Mask2Former.Evaluation;

/// <summary>
/// COCOeval's <c>accumulate</c>: precision at the 101 recall thresholds, recall, and the score
/// at each precision point, per IoU threshold, category, area range and detection limit.
/// COCOeval's arrays are precision and scores [T, R, K, A, M] and recall [T, K, A, M]; here the
/// category comes first ([K, T, R, A, M], [K, T, A, M]) so that each category's thread writes one
/// contiguous block (in COCOeval's order every write of a category is 7.7 KB from the last, a
/// cache miss each). Read them through <see cref="PrecisionIndex"/> and <see cref="RecallIndex"/>.
/// Entries are −1 where a category has no ground truth that counts.
/// </summary>
internal sealed class InstanceAccumulation
{
    public InstanceAccumulation(int categories)
    {
        K = categories;
        // Not cleared here: AddCategory writes every entry of its category (−1 where nothing counts),
        // so each 8 MB array is written once, by the thread that owns the category.
        Precision = GC.AllocateUninitializedArray<double>(CocoEvalParameters.T * CocoEvalParameters.R * K * CocoEvalParameters.A * CocoEvalParameters.M);
        Scores = GC.AllocateUninitializedArray<double>(Precision.Length);
        Recall = GC.AllocateUninitializedArray<double>(CocoEvalParameters.T * K * CocoEvalParameters.A * CocoEvalParameters.M);
    }

    public int K { get; }
    public double[] Precision { get; }
    public double[] Scores { get; }
    public double[] Recall { get; }

    /// <summary>Where COCOeval's <c>precision[t, r, k, a, m]</c> (and <c>scores</c>) is held.</summary>
    public static int PrecisionIndex(int t, int r, int k, int a, int m) =>
        (((k * CocoEvalParameters.T + t) * CocoEvalParameters.R + r) * CocoEvalParameters.A + a) * CocoEvalParameters.M + m;

    /// <summary>Where COCOeval's <c>recall[t, k, a, m]</c> is held.</summary>
    public static int RecallIndex(int t, int k, int a, int m) => ((k * CocoEvalParameters.T + t) * CocoEvalParameters.A + a) * CocoEvalParameters.M + m;

    /// <summary>
    /// Fills every entry of category <paramref name="k"/> from its per-image evaluations, in image
    /// order (the order that breaks score ties). Categories are independent, so they may run in
    /// parallel; each must be added once, with an empty list where it has no evaluations.
    /// </summary>
    public void AddCategory(int k, IReadOnlyList<InstanceImageEvaluation> images)
    {
        if (images.Count == 0)
        {
            for (var a = 0; a < CocoEvalParameters.A; a++)
                for (var m = 0; m < CocoEvalParameters.M; m++) MarkEmpty(k, a, m);
            return;
        }
        var recallThresholds = CocoEvalParameters.RecallThresholds;
        var total = 0;
        foreach (var e in images) total += e.Scores.Length;
        var scores = new double[total];
        var matched = new ushort[total];
        var ignored = new ushort[total];
        var order = new int[total];
        var rc = new double[total];
        var pr = new double[total];

        // Ground truth that counts, per area range.
        var npigs = new int[CocoEvalParameters.A];
        foreach (var e in images)
            for (var a = 0; a < CocoEvalParameters.A; a++) npigs[a] += e.NonIgnoredGroundTruth[a];

        for (var m = 0; m < CocoEvalParameters.M; m++)
        {
            // Each image's first maxDet detections, concatenated in image order, then ranked by
            // score (stably: ties keep that order). The ranking is the same for every area range.
            var maxDet = CocoEvalParameters.MaxDetections[m];
            var nd = 0;
            foreach (var e in images)
            {
                var take = Math.Min(maxDet, e.Scores.Length);
                for (var i = 0; i < take; i++)
                {
                    scores[nd] = e.Scores[i];
                    order[nd] = nd;
                    nd++;
                }
            }
            var ranked = order.AsSpan(0, nd);
            ranked.Sort(new ByScoreDescending(scores));

            for (var a = 0; a < CocoEvalParameters.A; a++)
            {
                var npig = npigs[a];
                if (npig == 0)
                {
                    MarkEmpty(k, a, m);
                    continue;
                }
                var filled = 0;
                foreach (var e in images)
                {
                    var take = Math.Min(maxDet, e.Scores.Length);
                    e.Matched[a].AsSpan(0, take).CopyTo(matched.AsSpan(filled));
                    e.Ignored[a].AsSpan(0, take).CopyTo(ignored.AsSpan(filled));
                    filled += take;
                }

                for (var t = 0; t < CocoEvalParameters.T; t++)
                {
                    var bit = 1 << t;
                    double tpSum = 0, fpSum = 0;
                    for (var i = 0; i < nd; i++)
                    {
                        var j = ranked[i];
                        if ((ignored[j] & bit) == 0)
                        {
                            if ((matched[j] & bit) != 0) tpSum++;
                            else fpSum++;
                        }
                        rc[i] = tpSum / npig;
                        pr[i] = tpSum / (fpSum + tpSum + CocoEvalParameters.Epsilon);
                    }
                    Recall[RecallIndex(t, k, a, m)] = nd > 0 ? rc[nd - 1] : 0;
                    // Precision envelope: non-increasing from the right.
                    for (var i = nd - 1; i > 0; i--)
                    {
                        if (pr[i] > pr[i - 1]) pr[i - 1] = pr[i];
                    }
                    // np.searchsorted(rc, recThrs, side='left'); past the end, precision stays 0.
                    var pi = 0;
                    for (var r = 0; r < recallThresholds.Length; r++)
                    {
                        while (pi < nd && rc[pi] < recallThresholds[r]) pi++;
                        var index = PrecisionIndex(t, r, k, a, m);
                        if (pi < nd)
                        {
                            Precision[index] = pr[pi];
                            Scores[index] = scores[ranked[pi]];
                        }
                        else
                        {
                            Precision[index] = 0;
                            Scores[index] = 0;
                        }
                    }
                }
            }
        }
    }

    /// <summary>Descending score, ties by position (numpy's stable mergesort of −score).</summary>
    private readonly struct ByScoreDescending(double[] scores) : IComparer<int>
    {
        public int Compare(int x, int y)
        {
            var c = scores[y].CompareTo(scores[x]);
            return c != 0 ? c : x.CompareTo(y);
        }
    }

    /// <summary>−1 for every precision, score and recall entry of (k, a, m): no ground truth counts there.</summary>
    private void MarkEmpty(int k, int a, int m)
    {
        for (var t = 0; t < CocoEvalParameters.T; t++)
        {
            Recall[RecallIndex(t, k, a, m)] = -1;
            for (var r = 0; r < CocoEvalParameters.R; r++)
            {
                var index = PrecisionIndex(t, r, k, a, m);
                Precision[index] = -1;
                Scores[index] = -1;
            }
        }
    }
}
