namespace Microsoft.ML.Mask2Former.Rendering;

/// <summary>
/// Stable, well separated colours per category id: the hue walks the golden-ratio sequence, so
/// neighbouring ids land far apart on the colour wheel, and saturation / value cycle so that
/// ids whose hues come close still differ in brightness. The same id always gets the same colour,
/// in every image and every run.
/// </summary>
public static class CategoryPalette
{
    private const double GoldenRatioConjugate = 0.6180339887498949;

    /// <summary>The colour of <paramref name="categoryId"/> as (R, G, B).</summary>
    public static (byte R, byte G, byte B) ColorOf(int categoryId)
    {
        var k = (uint)categoryId;
        var hue = (0.11 + k * GoldenRatioConjugate) % 1.0;
        // Seven saturation/value steps: 7 shares no factor with the Fibonacci id gaps (55, 89, 144)
        // at which golden-ratio hues come closest, so those pairs differ in brightness.
        var step = k % 7;
        var saturation = (step % 3) switch { 0 => 0.85, 1 => 0.65, _ => 0.95 };
        var value = (step / 3) switch { 0 => 1.0, 1 => 0.8, _ => 0.65 };
        return FromHsv(hue, saturation, value);
    }

    /// <summary>Converts HSV (each in [0, 1]) to 8-bit RGB.</summary>
    internal static (byte R, byte G, byte B) FromHsv(double h, double s, double v)
    {
        var sector = h * 6;
        var i = (int)Math.Floor(sector) % 6;
        var f = sector - Math.Floor(sector);
        var p = v * (1 - s);
        var q = v * (1 - f * s);
        var t = v * (1 - (1 - f) * s);
        var (r, g, b) = i switch
        {
            0 => (v, t, p),
            1 => (q, v, p),
            2 => (p, v, t),
            3 => (p, q, v),
            4 => (t, p, v),
            _ => (v, p, q),
        };
        return (ToByte(r), ToByte(g), ToByte(b));
    }

    private static byte ToByte(double x) => (byte)Math.Clamp((int)Math.Round(x * 255), 0, 255);
}
