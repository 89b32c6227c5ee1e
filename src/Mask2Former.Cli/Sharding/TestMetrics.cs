using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.ML.Mask2Former.Evaluation;
using Microsoft.ML.Mask2Former.ReferenceArithmetic;

namespace Mask2Former.Cli.Sharding;

/// <summary>
/// The metrics of <c>m2f test</c> / <c>m2f merge</c>, printed the way the seed's test command
/// (mmdetection 2.25's <c>tools/test.py --eval PQ bbox segm</c>) prints them: the panoptic table,
/// then per IoU type COCOeval's summary and the <c>bbox_mAP…</c> / <c>segm_mAP…</c> lines with
/// the copy-paste line, then the whole result as one dictionary.
/// </summary>
internal sealed record TestMetrics(PanopticSegmentationMetrics? Panoptic, InstanceSegmentationMetrics? Boxes, InstanceSegmentationMetrics? Masks,
    SemanticSegmentationMetrics? Semantic)
{
    private static readonly string[] ApItems = ["mAP", "mAP_50", "mAP_75", "mAP_s", "mAP_m", "mAP_l"];

    public void Print(TextWriter output)
    {
        if (Panoptic is { } pq)
        {
            output.WriteLine("Panoptic Evaluation Results:");
            List<string[]> rows = [["", "PQ", "SQ", "RQ", "categories"]];
            foreach (var (name, a) in new[] { ("All", pq.All), ("Things", pq.Things), ("Stuff", pq.Stuff) })
                rows.Add([name, Percent(a.PanopticQuality), Percent(a.SegmentationQuality), Percent(a.RecognitionQuality), a.CategoryCount.ToString(CultureInfo.InvariantCulture)]);
            output.Write(AsciiTable(rows));
        }
        foreach (var (name, m) in new[] { ("bbox", Boxes), ("segm", Masks) })
        {
            if (m is null) continue;
            output.WriteLine($"Evaluating {name}...");
            output.Write(m.ToString());
            output.WriteLine(string.Join(", ", ApItems.Select((item, i) => $"{name}_{item}: {Three(m.Stats[i])}")));
            output.WriteLine($"{name}_mAP_copypaste: {Copypaste(m)}");
        }
        if (Semantic is { } miou)
        {
            output.WriteLine("Semantic Evaluation Results:");
            output.Write(miou.ToString());
        }
        output.WriteLine("{" + string.Join(", ", Entries().Select(e => $"'{e.Key}': {e.Value}")) + "}");
    }

    /// <summary>The result dictionary, values in Python's notation: PQ in percent, AP rounded to 3 decimals as mmdetection reports them.</summary>
    private IEnumerable<KeyValuePair<string, string>> Entries()
    {
        if (Panoptic is { } pq)
        {
            foreach (var (suffix, a) in new[] { ("", pq.All), ("_th", pq.Things), ("_st", pq.Stuff) })
            {
                yield return new("PQ" + suffix, PythonRepr(100 * a.PanopticQuality));
                yield return new("SQ" + suffix, PythonRepr(100 * a.SegmentationQuality));
                yield return new("RQ" + suffix, PythonRepr(100 * a.RecognitionQuality));
            }
        }
        foreach (var (name, m) in new[] { ("bbox", Boxes), ("segm", Masks) })
        {
            if (m is null) continue;
            for (var i = 0; i < ApItems.Length; i++) yield return new($"{name}_{ApItems[i]}", PythonRepr(double.Parse(Three(m.Stats[i]), CultureInfo.InvariantCulture)));
            yield return new($"{name}_mAP_copypaste", $"'{Copypaste(m)}'");
        }
        if (Semantic is { } miou)
        {
            yield return new("mIoU", PythonRepr(100 * miou.MeanIoU));
            yield return new("fwIoU", PythonRepr(100 * miou.FrequencyWeightedIoU));
        }
    }

    public void WriteJson(Utf8JsonWriter w)
    {
        Panoptic?.WriteJson(w);
        foreach (var (name, m) in new[] { ("coco_bbox", Boxes), ("coco_segm", Masks) })
        {
            if (m is null) continue;
            w.WriteStartObject(name);
            w.WriteStartArray("stats");
            foreach (var s in m.Stats) w.WriteNumberValue(s);
            w.WriteEndArray();
            w.WriteString("copypaste", Copypaste(m));
            w.WriteEndObject();
        }
        if (Semantic is { } miou)
        {
            w.WriteStartObject("semantic");
            w.WriteNumber("miou", miou.MeanIoU);
            w.WriteNumber("fwiou", miou.FrequencyWeightedIoU);
            w.WriteNumber("macc", miou.MeanAccuracy);
            w.WriteNumber("pacc", miou.PixelAccuracy);
            w.WriteEndObject();
        }
    }

    private static string Percent(double value) => PythonFormat.Fixed(value * 100, 3);

    private static string Three(double value) => PythonFormat.Fixed(value, 3);

    private static string Copypaste(InstanceSegmentationMetrics m) => string.Join(" ", m.Stats.Take(6).Select(Three));

    /// <summary>Python's <c>repr</c> of a float: the shortest text that reads back to the same number.</summary>
    private static string PythonRepr(double value)
    {
        if (double.IsNaN(value)) return "nan";
        if (double.IsInfinity(value)) return value > 0 ? "inf" : "-inf";
        var text = value.ToString("R", CultureInfo.InvariantCulture);
        if (text.Contains('E'))
        {
            var parts = text.Split('E');
            var exponent = int.Parse(parts[1], CultureInfo.InvariantCulture);
            return $"{parts[0]}e{(exponent < 0 ? "-" : "+")}{Math.Abs(exponent):D2}";
        }
        return text.Contains('.') ? text : text + ".0";
    }

    /// <summary>A table as terminaltables' <c>AsciiTable</c> draws it (mmdetection prints its panoptic table so).</summary>
    private static string AsciiTable(List<string[]> rows)
    {
        var widths = Enumerable.Range(0, rows[0].Length).Select(c => rows.Max(r => r[c].Length)).ToArray();
        var border = "+" + string.Join("+", widths.Select(w => new string('-', w + 2))) + "+\n";
        var sb = new StringBuilder(border);
        for (var r = 0; r < rows.Count; r++)
        {
            sb.Append('|').Append(string.Join("|", rows[r].Select((cell, c) => " " + cell.PadRight(widths[c]) + " "))).Append("|\n");
            if (r == 0) sb.Append(border);
        }
        return sb.Append(border).ToString();
    }
}
