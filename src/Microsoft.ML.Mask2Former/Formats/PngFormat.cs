using System.Buffers.Binary;

namespace Microsoft.ML.Mask2Former.Formats;

/// <summary>Constants and small rules of the PNG format shared by the reader and the writer.</summary>
internal static class PngFormat
{
    /// <summary>The eight bytes every PNG file starts with.</summary>
    public static ReadOnlySpan<byte> Signature => [137, 80, 78, 71, 13, 10, 26, 10];

    /// <summary>
    /// Upper bound on width × height. Far above any segmentation map, and low enough that a row
    /// of 16-bit RGBA and a decoded map of uint ids both stay within .NET's array limits; a hostile
    /// header cannot make the reader allocate gigabytes.
    /// </summary>
    public const long MaxPixels = 1L << 28;

    public const uint Ihdr = 0x49484452, Plte = 0x504C5445, Idat = 0x49444154, Iend = 0x49454E44;

    /// <summary>Chunk type as its four ASCII letters.</summary>
    public static string TypeName(uint type)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(b, type);
        Span<char> c = stackalloc char[4];
        for (var i = 0; i < 4; i++) c[i] = b[i] is >= 0x20 and < 0x7F ? (char)b[i] : '?';
        return new string(c);
    }

    /// <summary>Whether the bit depth is allowed for the colour type (PNG specification table 11.1).</summary>
    public static bool IsLegal(PngColorType colorType, int bitDepth) => colorType switch
    {
        PngColorType.Grayscale => bitDepth is 1 or 2 or 4 or 8 or 16,
        PngColorType.Palette => bitDepth is 1 or 2 or 4 or 8,
        PngColorType.Rgb or PngColorType.GrayscaleAlpha or PngColorType.Rgba => bitDepth is 8 or 16,
        _ => false,
    };

    /// <summary>Samples per pixel.</summary>
    public static int Channels(PngColorType colorType) => colorType switch
    {
        PngColorType.Grayscale or PngColorType.Palette => 1,
        PngColorType.GrayscaleAlpha => 2,
        PngColorType.Rgb => 3,
        PngColorType.Rgba => 4,
        _ => throw new ArgumentOutOfRangeException(nameof(colorType)),
    };

    /// <summary>Bytes of one packed row of <paramref name="width"/> pixels (without the filter byte).</summary>
    public static long RowBytes(long width, int bitsPerPixel) => (width * bitsPerPixel + 7) / 8;

    /// <summary>The colour mode as a reader would say it: "8-bit RGB (RGB)", "8-bit palette (P)".</summary>
    public static string Describe(PngColorType colorType, int bitDepth) => colorType switch
    {
        PngColorType.Grayscale => $"{bitDepth}-bit grayscale ({(bitDepth == 1 ? "1" : bitDepth == 16 ? "I;16" : "L")})",
        PngColorType.Rgb => $"{bitDepth}-bit RGB (RGB)",
        PngColorType.Palette => $"{bitDepth}-bit palette (P)",
        PngColorType.GrayscaleAlpha => $"{bitDepth}-bit grayscale with alpha (LA)",
        PngColorType.Rgba => $"{bitDepth}-bit RGBA (RGBA)",
        _ => $"{bitDepth}-bit colour type {(int)colorType}",
    };

    /// <summary>The seven Adam7 passes: first column, first row, column step, row step.</summary>
    public static ReadOnlySpan<byte> Adam7 =>
    [
        0, 0, 8, 8,
        4, 0, 8, 8,
        0, 4, 4, 8,
        2, 0, 4, 4,
        0, 2, 2, 4,
        1, 0, 2, 2,
        0, 1, 1, 2,
    ];

    /// <summary>Width and height of Adam7 pass <paramref name="pass"/> (0-based) of a <paramref name="width"/>×<paramref name="height"/> image; either may be 0.</summary>
    public static (int Width, int Height) PassSize(int pass, int width, int height)
    {
        var a = Adam7.Slice(pass * 4, 4);
        var w = width > a[0] ? (width - a[0] + a[2] - 1) / a[2] : 0;
        var h = height > a[1] ? (height - a[1] + a[3] - 1) / a[3] : 0;
        return (w, h);
    }
}
