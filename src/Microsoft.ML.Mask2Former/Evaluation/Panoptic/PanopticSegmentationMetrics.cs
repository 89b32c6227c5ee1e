using System.Text;
using Microsoft.ML.Mask2Former.ReferenceArithmetic;

namespace Microsoft.ML.Mask2Former.Evaluation;

/// <summary>
/// Panoptic quality of a set of predictions, as the COCO panopticapi <c>pq_compute</c> reports it:
/// PQ / SQ / RQ over all categories, things and stuff, and per class. Immutable.
/// </summary>
/// <remarks>
/// Per class: PQ = IoU sum / (tp + ½fp + ½fn), SQ = IoU sum / tp (0 without tp), RQ = tp / (tp + ½fp + ½fn).
/// Averages run over the categories with tp + fp + fn &gt; 0, in the order of the ground truth's
/// category list. A group with no such category has NaN averages (panopticapi divides by zero).
/// </remarks>
public sealed class PanopticSegmentationMetrics
{
    private PanopticSegmentationMetrics(PanopticAverages all, PanopticAverages things, PanopticAverages stuff,
        IReadOnlyList<PanopticClassMetrics> perClass, long imageCount)
    {
        All = all;
        Things = things;
        Stuff = stuff;
        PerClass = perClass;
        ImageCount = imageCount;
    }

    /// <summary>Averages over all categories.</summary>
    public PanopticAverages All { get; }

    /// <summary>Averages over thing categories.</summary>
    public PanopticAverages Things { get; }

    /// <summary>Averages over stuff categories.</summary>
    public PanopticAverages Stuff { get; }

    /// <summary>Per-category results, in the ground truth's category order (every category, counted or not).</summary>
    public IReadOnlyList<PanopticClassMetrics> PerClass { get; }

    /// <summary>The number of images evaluated.</summary>
    public long ImageCount { get; }

    /// <summary>PQ over all categories (shorthand for <c>All.PanopticQuality</c>).</summary>
    public double PanopticQuality => All.PanopticQuality;

    /// <summary>SQ over all categories.</summary>
    public double SegmentationQuality => All.SegmentationQuality;

    /// <summary>RQ over all categories.</summary>
    public double RecognitionQuality => All.RecognitionQuality;

    internal static PanopticSegmentationMetrics Compute(PanopticQualityAccumulator accumulator, IReadOnlyList<CocoPanopticCategory> categories)
    {
        ArgumentNullException.ThrowIfNull(accumulator);
        ArgumentNullException.ThrowIfNull(categories);
        var perClass = new PanopticClassMetrics[categories.Count];
        for (var i = 0; i < categories.Count; i++)
        {
            var cat = categories[i];
            var c = accumulator[cat.Id];
            double pq = 0, sq = 0, rq = 0;
            if (!c.IsEmpty)
            {
                var denominator = c.TruePositives + 0.5 * c.FalsePositives + 0.5 * c.FalseNegatives;
                pq = c.IouSum / denominator;
                sq = c.TruePositives != 0 ? c.IouSum / c.TruePositives : 0;
                rq = c.TruePositives / denominator;
            }
            perClass[i] = new PanopticClassMetrics(cat.Id, cat.Name, cat.IsThing, pq, sq, rq, c);
        }
        return new PanopticSegmentationMetrics(Average(perClass, null), Average(perClass, true), Average(perClass, false),
            Array.AsReadOnly(perClass), accumulator.ImageCount);
    }

    private static PanopticAverages Average(IReadOnlyList<PanopticClassMetrics> perClass, bool? things)
    {
        double pq = 0, sq = 0, rq = 0;
        var n = 0;
        foreach (var c in perClass)
        {
            if (things is { } t && c.IsThing != t) continue;
            if (!c.IsCounted) continue;
            n++;
            pq += c.PanopticQuality;
            sq += c.SegmentationQuality;
            rq += c.RecognitionQuality;
        }
        return n == 0 ? new PanopticAverages(double.NaN, double.NaN, double.NaN, 0) : new PanopticAverages(pq / n, sq / n, rq / n, n);
    }

    /// <summary>The table panopticapi prints: PQ, SQ, RQ (×100, one decimal) and N for All, Things and Stuff.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        sb.Append($"{"",-10}| {"PQ",5}  {"SQ",5}  {"RQ",5} {"N",5}\n");
        sb.Append('-', 10 + 7 * 4).Append('\n');
        Row(sb, "All", All);
        Row(sb, "Things", Things);
        Row(sb, "Stuff", Stuff);
        return sb.ToString();
    }

    private static void Row(StringBuilder sb, string name, PanopticAverages q) =>
        sb.Append($"{name,-10}| {PythonFormat.Fixed(100 * q.PanopticQuality, 1, 5)}  {PythonFormat.Fixed(100 * q.SegmentationQuality, 1, 5)}  {PythonFormat.Fixed(100 * q.RecognitionQuality, 1, 5)} {q.CategoryCount,5}\n");

    /// <summary>A per-class table (PQ, SQ, RQ ×100 and the counts), one row per category in category order.</summary>
    /// <param name="countedOnly">Leave out categories that never occurred.</param>
    public string ToPerClassTable(bool countedOnly = true)
    {
        var nameWidth = Math.Max(10, PerClass.Count == 0 ? 0 : PerClass.Max(c => c.Name.Length) + 1);
        var sb = new StringBuilder();
        sb.Append($"{"id",5} {"category".PadRight(nameWidth)} {"kind",-6}| {"PQ",5}  {"SQ",5}  {"RQ",5} {"TP",6} {"FP",6} {"FN",6}\n");
        sb.Append('-', 5 + 1 + nameWidth + 1 + 6 + 2 + 7 * 3 + 7 * 3 - 1).Append('\n');
        foreach (var c in PerClass)
        {
            if (countedOnly && !c.IsCounted) continue;
            sb.Append($"{c.CategoryId,5} {c.Name.PadRight(nameWidth)} {(c.IsThing ? "thing" : "stuff"),-6}| ")
              .Append($"{PythonFormat.Fixed(100 * c.PanopticQuality, 1, 5)}  {PythonFormat.Fixed(100 * c.SegmentationQuality, 1, 5)}  {PythonFormat.Fixed(100 * c.RecognitionQuality, 1, 5)} ")
              .Append($"{c.Counts.TruePositives,6} {c.Counts.FalsePositives,6} {c.Counts.FalseNegatives,6}\n");
        }
        return sb.ToString();
    }

    /// <summary>
    /// Writes the metrics in the layout of the reference <c>expected.json</c>: <c>panoptic</c> with
    /// All / Things / Stuff {pq, sq, rq, n} and <c>per_class</c> {pq, sq, rq}, and
    /// <c>panoptic_counts</c> with tp, fp, fn and iou of every category that occurred.
    /// </summary>
    public void WriteJson(Utf8JsonWriter w)
    {
        ArgumentNullException.ThrowIfNull(w);
        w.WriteStartObject("panoptic");
        Group(w, "All", All);
        Group(w, "Things", Things);
        Group(w, "Stuff", Stuff);
        w.WriteStartObject("per_class");
        foreach (var c in PerClass)
        {
            w.WriteStartObject(c.CategoryId.ToString(CultureInfo.InvariantCulture));
            w.WriteNumber("pq", c.PanopticQuality);
            w.WriteNumber("sq", c.SegmentationQuality);
            w.WriteNumber("rq", c.RecognitionQuality);
            w.WriteEndObject();
        }
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteStartObject("panoptic_counts");
        foreach (var c in PerClass)
        {
            if (!c.IsCounted) continue;
            w.WriteStartObject(c.CategoryId.ToString(CultureInfo.InvariantCulture));
            w.WriteNumber("tp", c.Counts.TruePositives);
            w.WriteNumber("fp", c.Counts.FalsePositives);
            w.WriteNumber("fn", c.Counts.FalseNegatives);
            w.WriteNumber("iou", c.Counts.IouSum);
            w.WriteEndObject();
        }
        w.WriteEndObject();
    }

    private static void Group(Utf8JsonWriter w, string name, PanopticAverages q)
    {
        w.WriteStartObject(name);
        WriteNumberOrNull(w, "pq", q.PanopticQuality);
        WriteNumberOrNull(w, "sq", q.SegmentationQuality);
        WriteNumberOrNull(w, "rq", q.RecognitionQuality);
        w.WriteNumber("n", q.CategoryCount);
        w.WriteEndObject();
    }

    private static void WriteNumberOrNull(Utf8JsonWriter w, string name, double value)
    {
        if (double.IsFinite(value)) w.WriteNumber(name, value);
        else w.WriteNull(name);
    }
}
