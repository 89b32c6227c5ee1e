namespace Microsoft.ML.Mask2Former.Evaluation;

/// <summary>A ground-truth object ready for matching.</summary>
internal sealed record PreparedGroundTruth(long Id, bool IsCrowd, double Area, double[]? Box, CocoRle? Mask);

/// <summary>A detection ready for matching: its id is its 1-based position in the results, as <c>loadRes</c> numbers them.</summary>
internal sealed record PreparedDetection(long Id, double Score, double Area, double[]? Box, CocoRle? Mask);

/// <summary>
/// COCOeval's <c>evaluateImg</c> for one image and one category, for every area range at once:
/// the detections ranked by score (at most 100), and per IoU threshold which of them matched a
/// ground truth and which are ignored. Flags are bit masks over the 10 IoU thresholds.
/// </summary>
internal sealed class InstanceImageEvaluation
{
    private InstanceImageEvaluation(double[] scores, ushort[][] matched, ushort[][] ignored, int[] nonIgnoredGroundTruth)
    {
        Scores = scores;
        Matched = matched;
        Ignored = ignored;
        NonIgnoredGroundTruth = nonIgnoredGroundTruth;
    }

    /// <summary>An evaluation read back (from an accumulator's JSON); the arrays are taken as they are.</summary>
    internal static InstanceImageEvaluation FromParts(double[] scores, ushort[][] matched, ushort[][] ignored, int[] nonIgnoredGroundTruth) =>
        new(scores, matched, ignored, nonIgnoredGroundTruth);

    /// <summary>Scores of the kept detections, highest first.</summary>
    public double[] Scores { get; }

    /// <summary>[area range][detection]: bit t set when the detection matched a ground truth (with a non-zero id) at threshold t.</summary>
    public ushort[][] Matched { get; }

    /// <summary>[area range][detection]: bit t set when the detection is ignored at threshold t.</summary>
    public ushort[][] Ignored { get; }

    /// <summary>[area range]: ground truths that count (not crowd, area in range).</summary>
    public int[] NonIgnoredGroundTruth { get; }

    /// <summary>Ranks, computes IoUs and matches; <paramref name="iouType"/> selects boxes or masks.</summary>
    public static InstanceImageEvaluation Evaluate(IReadOnlyList<PreparedGroundTruth> gt, IReadOnlyList<PreparedDetection> dt, InstanceIouType iouType)
    {
        var maxDet = CocoEvalParameters.MaxDetections[^1];
        var order = RankByScore(dt);
        var d = Math.Min(order.Length, maxDet);
        var g = gt.Count;

        // IoU of every kept detection with every ground truth, ground truth in file order.
        var ious = new double[d * g];
        for (var i = 0; i < d; i++)
        {
            var det = dt[order[i]];
            for (var j = 0; j < g; j++)
            {
                var truth = gt[j];
                ious[i * g + j] = iouType == InstanceIouType.BoundingBox
                    ? CocoRle.BoxIou(det.Box, truth.Box, truth.IsCrowd)
                    : CocoRle.Iou(det.Mask!, truth.Mask!, truth.IsCrowd);
            }
        }

        var scores = new double[d];
        for (var i = 0; i < d; i++) scores[i] = dt[order[i]].Score;

        var areas = CocoEvalParameters.AreaRanges;
        var matched = new ushort[areas.Length][];
        var ignored = new ushort[areas.Length][];
        var nonIgnored = new int[areas.Length];
        var gtIgnore = new bool[g];
        var gtOrder = new int[g];
        var gtMatched = new bool[g];
        var thresholds = CocoEvalParameters.IouThresholds;
        for (var a = 0; a < areas.Length; a++)
        {
            var (low, high) = areas[a];
            // Ground truth that counts first, ignored after, each in file order (a stable sort).
            var n = 0;
            for (var j = 0; j < g; j++)
            {
                gtIgnore[j] = gt[j].IsCrowd || gt[j].Area < low || gt[j].Area > high;
                if (!gtIgnore[j]) gtOrder[n++] = j;
            }
            nonIgnored[a] = n;
            for (var j = 0; j < g; j++)
            {
                if (gtIgnore[j]) gtOrder[n++] = j;
            }

            var m = new ushort[d];
            var ig = new ushort[d];
            for (var t = 0; t < thresholds.Length; t++)
            {
                Array.Clear(gtMatched);
                var bit = (ushort)(1 << t);
                for (var i = 0; i < d; i++)
                {
                    var best = Math.Min(thresholds[t], CocoEvalParameters.MaxMatchIou);
                    var match = -1;
                    for (var k = 0; k < g; k++)
                    {
                        var j = gtOrder[k];
                        if (gtMatched[k] && !gt[j].IsCrowd) continue;
                        // Once matched to a ground truth that counts, never move to an ignored one.
                        if (match > -1 && !gtIgnore[gtOrder[match]] && gtIgnore[j]) break;
                        var iou = ious[i * g + j];
                        if (iou < best) continue;
                        best = iou;
                        match = k;
                    }
                    if (match == -1) continue;
                    var matchedGt = gtOrder[match];
                    if (gtIgnore[matchedGt]) ig[i] |= bit;
                    // COCOeval records the ground truth's id; an id of 0 reads as "no match" later.
                    if (gt[matchedGt].Id != 0) m[i] |= bit;
                    gtMatched[match] = true;
                }
            }
            // Unmatched detections outside the area range are ignored.
            for (var i = 0; i < d; i++)
            {
                var det = dt[order[i]];
                if (det.Area < low || det.Area > high) ig[i] |= (ushort)~m[i];
            }
            const ushort all = (1 << 10) - 1;
            for (var i = 0; i < d; i++) ig[i] &= all;
            matched[a] = m;
            ignored[a] = ig;
        }
        return new InstanceImageEvaluation(scores, matched, ignored, nonIgnored);
    }

    /// <summary>Indices of <paramref name="dt"/> by descending score, ties in input order (numpy's stable mergesort of −score).</summary>
    internal static int[] RankByScore(IReadOnlyList<PreparedDetection> dt)
    {
        var order = new int[dt.Count];
        for (var i = 0; i < order.Length; i++) order[i] = i;
        Array.Sort(order, (x, y) =>
        {
            var c = dt[y].Score.CompareTo(dt[x].Score);
            return c != 0 ? c : x.CompareTo(y);
        });
        return order;
    }
}
