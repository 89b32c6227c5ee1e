using System.Text;
using Microsoft.ML.Mask2Former.ReferenceArithmetic;

namespace Microsoft.ML.Mask2Former.Evaluation;

/// <summary>
/// COCO instance AP and AR as pycocotools' <c>COCOeval.summarize()</c> reports them (the 12
/// stats), per-category AP, and the full precision / recall / score arrays. Immutable.
/// </summary>
/// <remarks>
/// The properties are fractions; a stat with nothing to average (for example AP_large when no
/// ground truth is large) is −1, as in pycocotools. <see cref="ToString"/> prints exactly the
/// twelve lines <c>summarize()</c> prints.
/// </remarks>
public sealed class InstanceSegmentationMetrics
{
    /// <summary>The names of <see cref="Stats"/>, in order, as the reference files use them.</summary>
    public static IReadOnlyList<string> StatNames { get; } = Array.AsReadOnly(
        ["AP", "AP50", "AP75", "AP_small", "AP_medium", "AP_large", "AR_1", "AR_10", "AR_100", "AR_small", "AR_medium", "AR_large"]);

    private readonly double[] _precision;
    private readonly double[] _recall;
    private readonly double[] _scores;
    private readonly double[] _stats;

    internal InstanceSegmentationMetrics(InstanceIouType iouType, InstanceAccumulation accumulation, IReadOnlyList<CocoInstanceCategory> categories,
        int[] groundTruthCounts, int[] detectionCounts, int imageCount, int detectionCount)
    {
        IouType = iouType;
        _precision = accumulation.Precision;
        _recall = accumulation.Recall;
        _scores = accumulation.Scores;
        ImageCount = imageCount;
        DetectionCount = detectionCount;
        var k = categories.Count;

        var lines = new string[12];
        _stats = new double[12];
        var maxDets = CocoEvalParameters.MaxDetections;
        (bool Ap, double? Iou, string Area, int MaxDets)[] specs =
        [
            (true, null, "all", maxDets[2]), (true, .5, "all", maxDets[2]), (true, .75, "all", maxDets[2]),
            (true, null, "small", maxDets[2]), (true, null, "medium", maxDets[2]), (true, null, "large", maxDets[2]),
            (false, null, "all", maxDets[0]), (false, null, "all", maxDets[1]), (false, null, "all", maxDets[2]),
            (false, null, "small", maxDets[2]), (false, null, "medium", maxDets[2]), (false, null, "large", maxDets[2]),
        ];
        // One buffer for the gathered values of every stat and class (the largest stat gathers T·R·K).
        var buffer = new double[CocoEvalParameters.T * CocoEvalParameters.R * Math.Max(k, 1)];
        for (var s = 0; s < specs.Length; s++)
            (_stats[s], lines[s]) = Summarize(specs[s].Ap, specs[s].Iou, specs[s].Area, specs[s].MaxDets, k, buffer);
        SummaryLines = Array.AsReadOnly(lines);
        Stats = Array.AsReadOnly(_stats);

        var perClass = new InstanceClassMetrics[k];
        for (var c = 0; c < k; c++)
        {
            var n = 0;
            for (var t = 0; t < CocoEvalParameters.T; t++)
            {
                for (var r = 0; r < CocoEvalParameters.R; r++)
                {
                    var p = _precision[InstanceAccumulation.PrecisionIndex(t, r, c, 0, CocoEvalParameters.M - 1)];
                    if (p > -1) buffer[n++] = p;
                }
            }
            var ap = n == 0 ? double.NaN : NumpySum.Sum(buffer.AsSpan(0, n)) / n;
            perClass[c] = new InstanceClassMetrics(categories[c].Id, categories[c].Name, ap, groundTruthCounts[c], detectionCounts[c]);
        }
        PerClass = Array.AsReadOnly(perClass);
    }

    /// <summary>Boxes or masks.</summary>
    public InstanceIouType IouType { get; }

    /// <summary>The 12 COCOeval stats in <c>summarize()</c> order (see <see cref="StatNames"/>).</summary>
    public IReadOnlyList<double> Stats { get; }

    /// <summary>AP at IoU 0.50:0.95, all areas, 100 detections: the headline COCO number.</summary>
    public double AveragePrecision => _stats[0];

    /// <summary>AP at IoU 0.50.</summary>
    public double AveragePrecision50 => _stats[1];

    /// <summary>AP at IoU 0.75.</summary>
    public double AveragePrecision75 => _stats[2];

    /// <summary>AP for small objects (area ≤ 32²).</summary>
    public double AveragePrecisionSmall => _stats[3];

    /// <summary>AP for medium objects (32² ≤ area ≤ 96²).</summary>
    public double AveragePrecisionMedium => _stats[4];

    /// <summary>AP for large objects (area ≥ 96²).</summary>
    public double AveragePrecisionLarge => _stats[5];

    /// <summary>AR with 1 detection per image.</summary>
    public double AverageRecall1 => _stats[6];

    /// <summary>AR with 10 detections per image.</summary>
    public double AverageRecall10 => _stats[7];

    /// <summary>AR with 100 detections per image.</summary>
    public double AverageRecall100 => _stats[8];

    /// <summary>AR for small objects.</summary>
    public double AverageRecallSmall => _stats[9];

    /// <summary>AR for medium objects.</summary>
    public double AverageRecallMedium => _stats[10];

    /// <summary>AR for large objects.</summary>
    public double AverageRecallLarge => _stats[11];

    /// <summary>Per-category AP, by ascending category id (COCOeval's category order).</summary>
    public IReadOnlyList<InstanceClassMetrics> PerClass { get; }

    /// <summary>The images of the ground truth.</summary>
    public int ImageCount { get; }

    /// <summary>The detections evaluated.</summary>
    public int DetectionCount { get; }

    /// <summary>The lines <c>summarize()</c> prints, without line ends.</summary>
    public IReadOnlyList<string> SummaryLines { get; }

    /// <summary>The IoU thresholds (dimension T of the arrays).</summary>
    public static IReadOnlyList<double> IouThresholds { get; } = Array.AsReadOnly(CocoEvalParameters.IouThresholds);

    /// <summary>The recall thresholds (dimension R).</summary>
    public static IReadOnlyList<double> RecallThresholds { get; } = Array.AsReadOnly(CocoEvalParameters.RecallThresholds);

    /// <summary>The area-range labels (dimension A): all, small, medium, large.</summary>
    public static IReadOnlyList<string> AreaRangeLabels { get; } = Array.AsReadOnly(CocoEvalParameters.AreaLabels);

    /// <summary>The detection limits (dimension M): 1, 10, 100.</summary>
    public static IReadOnlyList<int> MaxDetections { get; } = Array.AsReadOnly(CocoEvalParameters.MaxDetections);

    /// <summary>COCOeval's <c>eval['precision'][t, r, k, a, m]</c>; −1 where undefined. <paramref name="category"/> indexes <see cref="PerClass"/>.</summary>
    public double GetPrecision(int iouThreshold, int recallThreshold, int category, int areaRange, int maxDetections) =>
        _precision[Index(iouThreshold, recallThreshold, category, areaRange, maxDetections)];

    /// <summary>COCOeval's <c>eval['scores'][t, r, k, a, m]</c>: the score at which each precision point is reached.</summary>
    public double GetScore(int iouThreshold, int recallThreshold, int category, int areaRange, int maxDetections) =>
        _scores[Index(iouThreshold, recallThreshold, category, areaRange, maxDetections)];

    /// <summary>COCOeval's <c>eval['recall'][t, k, a, m]</c>; −1 where undefined.</summary>
    public double GetRecall(int iouThreshold, int category, int areaRange, int maxDetections)
    {
        Check(iouThreshold, CocoEvalParameters.T, nameof(iouThreshold));
        Check(category, PerClass.Count, nameof(category));
        Check(areaRange, CocoEvalParameters.A, nameof(areaRange));
        Check(maxDetections, CocoEvalParameters.M, nameof(maxDetections));
        return _recall[InstanceAccumulation.RecallIndex(iouThreshold, category, areaRange, maxDetections)];
    }

    private int Index(int t, int r, int k, int a, int m)
    {
        Check(t, CocoEvalParameters.T, "iouThreshold");
        Check(r, CocoEvalParameters.R, "recallThreshold");
        Check(k, PerClass.Count, "category");
        Check(a, CocoEvalParameters.A, "areaRange");
        Check(m, CocoEvalParameters.M, "maxDetections");
        return InstanceAccumulation.PrecisionIndex(t, r, k, a, m);
    }

    private static void Check(int value, int count, string name)
    {
        if ((uint)value >= (uint)count) throw new ArgumentOutOfRangeException(name, $"{name} must be in 0..{count - 1}, got {value}");
    }

    /// <summary>One <c>_summarize</c> call: the mean of the defined entries (−1 when none) and its printed line.</summary>
    private (double Value, string Line) Summarize(bool ap, double? iouThreshold, string area, int maxDets, int k, double[] values)
    {
        var thresholds = CocoEvalParameters.IouThresholds;
        var a = Array.IndexOf(CocoEvalParameters.AreaLabels, area);
        var m = Array.IndexOf(CocoEvalParameters.MaxDetections, maxDets);
        var n = 0;
        for (var t = 0; t < thresholds.Length; t++)
        {
            // np.where(iouThr == p.iouThrs): exact float equality, as in pycocotools.
            if (iouThreshold is { } wanted && thresholds[t] != wanted) continue;
            if (ap)
            {
                for (var r = 0; r < CocoEvalParameters.R; r++)
                {
                    for (var c = 0; c < k; c++)
                    {
                        var v = _precision[InstanceAccumulation.PrecisionIndex(t, r, c, a, m)];
                        if (v > -1) values[n++] = v;
                    }
                }
            }
            else
            {
                for (var c = 0; c < k; c++)
                {
                    var v = _recall[InstanceAccumulation.RecallIndex(t, c, a, m)];
                    if (v > -1) values[n++] = v;
                }
            }
        }
        var mean = n == 0 ? -1 : NumpySum.Sum(values.AsSpan(0, n)) / n;
        var title = ap ? "Average Precision" : "Average Recall";
        var type = ap ? "(AP)" : "(AR)";
        var iou = iouThreshold is { } x
            ? PythonFormat.Fixed(x, 2)
            : $"{PythonFormat.Fixed(thresholds[0], 2)}:{PythonFormat.Fixed(thresholds[^1], 2)}";
        var line = $" {title,-18} {type} @[ IoU={iou,-9} | area={area,6} | maxDets={maxDets.ToString(CultureInfo.InvariantCulture),3} ] = {PythonFormat.Fixed(mean, 3)}";
        return (mean, line);
    }

    /// <summary>The key under which <see cref="WriteJson"/> writes: <c>coco_bbox</c> or <c>coco_segm</c>.</summary>
    public string JsonKey => IouType == InstanceIouType.BoundingBox ? "coco_bbox" : "coco_segm";

    /// <summary>
    /// Writes <c>"coco_bbox"</c> or <c>"coco_segm"</c>: <c>{"stats": [12 numbers], "names": [...],
    /// "summary_text": [...], "per_class": [{"id", "name", "ap", "gt", "detections"}]}</c> as a property
    /// of the JSON object being written (per-class AP is <c>null</c> where undefined).
    /// </summary>
    public void WriteJson(Utf8JsonWriter w)
    {
        ArgumentNullException.ThrowIfNull(w);
        w.WriteStartObject(JsonKey);
        w.WriteStartArray("stats");
        foreach (var s in _stats) w.WriteNumberValue(s);
        w.WriteEndArray();
        w.WriteStartArray("names");
        foreach (var n in StatNames) w.WriteStringValue(n);
        w.WriteEndArray();
        w.WriteStartArray("summary_text");
        foreach (var l in SummaryLines) w.WriteStringValue(l);
        w.WriteEndArray();
        w.WriteStartArray("per_class");
        foreach (var c in PerClass)
        {
            w.WriteStartObject();
            w.WriteNumber("id", c.CategoryId);
            w.WriteString("name", c.Name);
            if (double.IsFinite(c.AveragePrecision)) w.WriteNumber("ap", c.AveragePrecision);
            else w.WriteNull("ap");
            w.WriteNumber("gt", c.GroundTruthCount);
            w.WriteNumber("detections", c.DetectionCount);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    /// <summary>
    /// A per-category AP table (percent, as detectron2 logs it; <c>nan</c> for categories without
    /// ground truth), three categories per row.
    /// </summary>
    public string PerClassTable()
    {
        var sb = new StringBuilder();
        var width = Math.Max(8, PerClass.Count == 0 ? 0 : PerClass.Max(c => c.Name.Length));
        for (var i = 0; i < PerClass.Count; i += 3)
        {
            var cells = PerClass.Skip(i).Take(3).Select(c => $"{c.Name.PadRight(width)} | {PythonFormat.Fixed(100 * c.AveragePrecision, 3, 7)}");
            sb.Append(string.Join(" | ", cells)).Append('\n');
        }
        return sb.ToString();
    }

    /// <summary>The twelve lines pycocotools' <c>summarize()</c> prints, each ending in a newline.</summary>
    public override string ToString() => string.Concat(SummaryLines.Select(l => l + "\n"));
}
