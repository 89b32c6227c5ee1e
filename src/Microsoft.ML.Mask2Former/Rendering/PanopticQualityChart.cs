using Microsoft.ML.Mask2Former.Evaluation;
using SkiaSharp;

namespace Microsoft.ML.Mask2Former.Rendering;

/// <summary>
/// A bar chart of per-class PQ (one bar per category that occurred, best first, in the
/// category's overlay colour) with SQ and RQ written beside each bar and the All / Things /
/// Stuff averages in the title. PNG.
/// </summary>
public static class PanopticQualityChart
{
    /// <summary>Renders the chart.</summary>
    /// <param name="metrics">The evaluation result.</param>
    /// <param name="width">Image width in pixels (at least 400).</param>
    /// <param name="title">First title line; default "Panoptic quality per class".</param>
    /// <returns>The PNG bytes.</returns>
    public static byte[] RenderPng(PanopticSegmentationMetrics metrics, int width = 900, string? title = null)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        if (width < 400) throw new ArgumentOutOfRangeException(nameof(width), width, "the chart needs at least 400 pixels of width");
        var rows = metrics.PerClass.Where(c => c.IsCounted)
            .OrderByDescending(c => c.PanopticQuality).ThenBy(c => c.CategoryId).ToList();

        const float rowHeight = 22, textSize = 13, top = 62, margin = 12;
        var height = (int)(top + Math.Max(1, rows.Count) * rowHeight + 2 * margin);
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul));
        using var canvas = new SKCanvas(bitmap);
        canvas.Clear(SKColors.White);

        using var titleFont = RenderingText.Font(17);
        using var titlePaint = RenderingText.TextPaint(SKColors.Black);
        using var textFont = RenderingText.Font(textSize);
        using var textPaint = RenderingText.TextPaint(new SKColor(30, 30, 30));
        using var axisPaint = new SKPaint { Color = new SKColor(200, 200, 200), StrokeWidth = 1 };
        canvas.DrawText(title ?? "Panoptic quality per class", margin, margin + 17, SKTextAlign.Left, titleFont, titlePaint);
        canvas.DrawText(
            $"PQ {Percent(metrics.All.PanopticQuality)}  (things {Percent(metrics.Things.PanopticQuality)}, stuff {Percent(metrics.Stuff.PanopticQuality)})  SQ {Percent(metrics.All.SegmentationQuality)}  RQ {Percent(metrics.All.RecognitionQuality)}  over {metrics.ImageCount} images",
            margin, margin + 40, SKTextAlign.Left, textFont, textPaint);

        var nameWidth = Math.Min(width * 0.3f, rows.Count == 0 ? 60 : rows.Max(r => textFont.MeasureText(r.Name, textPaint)) + 10);
        var valuesWidth = textFont.MeasureText("PQ 100.0  SQ 100.0  RQ 100.0", textPaint) + 12;
        var barLeft = margin + nameWidth;
        var barMax = width - margin - valuesWidth - barLeft;
        if (rows.Count == 0) canvas.DrawText("no category occurred", barLeft, top + textSize, SKTextAlign.Left, textFont, textPaint);
        for (var i = 0; i < rows.Count; i++)
        {
            var c = rows[i];
            var y = top + i * rowHeight;
            canvas.DrawText(c.Name, margin, y + textSize + 2, SKTextAlign.Left, textFont, textPaint);
            canvas.DrawLine(barLeft, y + rowHeight - 1, barLeft + barMax, y + rowHeight - 1, axisPaint);
            var (r, g, b) = CategoryPalette.ColorOf(c.CategoryId);
            using var bar = new SKPaint { Color = new SKColor(r, g, b), IsAntialias = true };
            canvas.DrawRect(barLeft, y + 3, MathF.Max(1, (float)(c.PanopticQuality * barMax)), rowHeight - 7, bar);
            canvas.DrawText($"PQ {Percent(c.PanopticQuality),5}  SQ {Percent(c.SegmentationQuality),5}  RQ {Percent(c.RecognitionQuality),5}",
                barLeft + barMax + 8, y + textSize + 2, SKTextAlign.Left, textFont, textPaint);
        }
        canvas.Flush();
        return RenderingText.EncodePng(bitmap);
    }

    /// <summary>Renders the chart and writes it atomically to <paramref name="path"/>.</summary>
    public static void Save(string path, PanopticSegmentationMetrics metrics, int width = 900, string? title = null)
    {
        var png = RenderPng(metrics, width, title);
        AtomicFile.Write(path, s => s.Write(png));
    }

    private static string Percent(double x) =>
        double.IsFinite(x) ? (100 * x).ToString("0.0", CultureInfo.InvariantCulture) : "n/a";
}
