using SkiaSharp;

namespace Microsoft.ML.Mask2Former.Rendering;

/// <summary>Caption drawing shared by the overlay and the chart: one typeface, text on a dark plate.</summary>
internal static class RenderingText
{
    private static readonly Lazy<SKTypeface> Face = new(() =>
        SKTypeface.FromFamilyName("DejaVu Sans", SKFontStyle.Bold)
        ?? SKTypeface.FromFamilyName(null, SKFontStyle.Bold)
        ?? SKTypeface.Default);

    public static SKFont Font(float size) => new(Face.Value, size) { Edging = SKFontEdging.Antialias };

    public static SKPaint TextPaint(SKColor color) => new() { IsAntialias = true, Color = color };

    /// <summary>Draws <paramref name="text"/> on a plate centred on (cx, cy), moved inside the canvas where it would cross an edge.</summary>
    public static void DrawPlate(SKCanvas canvas, string text, float cx, float cy, float size, int canvasWidth, int canvasHeight)
    {
        using var font = Font(size);
        using var paint = TextPaint(SKColors.White);
        var width = font.MeasureText(text, paint);
        var pad = MathF.Max(2, size * 0.2f);
        var plateWidth = width + 2 * pad;
        var plateHeight = size + 2 * pad;
        var left = Math.Clamp(cx - plateWidth / 2, 0, MathF.Max(0, canvasWidth - plateWidth));
        var top = Math.Clamp(cy - plateHeight / 2, 0, MathF.Max(0, canvasHeight - plateHeight));
        using var plate = new SKPaint { Color = new SKColor(0, 0, 0, 170), IsAntialias = true };
        canvas.DrawRoundRect(new SKRect(left, top, left + plateWidth, top + plateHeight), pad, pad, plate);
        // Baseline: the plate's top, the padding, then the font's ascent (size × ~0.8 for DejaVu).
        var metrics = font.Metrics;
        canvas.DrawText(text, left + pad, top + pad - metrics.Ascent * (size / (metrics.Descent - metrics.Ascent)), SKTextAlign.Left, font, paint);
    }

    public static byte[] EncodePng(SKBitmap bitmap)
    {
        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }
}
