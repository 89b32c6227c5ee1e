using Microsoft.ML.Data;
using SkiaSharp;

namespace Microsoft.ML.Mask2Former.Formats;

/// <summary>
/// Decodes photos (JPEG, PNG, WebP, BMP, GIF: what SkiaSharp reads) as <c>SKBitmap.Decode</c> and
/// <c>MLImage.CreateFromFile</c> do, pixel for pixel, with the checks they lack: the file must be a
/// regular file, the size its header declares is checked before any pixel memory is allocated
/// (a 1 MB PNG may declare 20000×20000 pixels, 1.6 GB once decoded), and a file that ends before
/// its last pixel (a cut-off download) is refused instead of being decoded as a partial image.
/// Every error names the file and the reason.
/// </summary>
internal static class ImageFile
{
    /// <summary>The most pixels a photo may declare: 2^26 (67 megapixels, e.g. 9500×7000; 256 MiB decoded).</summary>
    public const long MaxPixels = 1L << 26;

    /// <summary>The size <paramref name="path"/> declares, read from its header only.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="DataFormatException">Not a regular file, not an image SkiaSharp reads, or larger than <see cref="MaxPixels"/>.</exception>
    public static (int Width, int Height) ReadSize(string path, string? imageId = null)
    {
        using var codec = OpenCodec(path, imageId);
        return (codec.Info.Width, codec.Info.Height);
    }

    /// <summary>
    /// Decodes <paramref name="path"/> into a bitmap of 32-bit pixels (BGRA or RGBA, premultiplied
    /// where the image has alpha), refusing it before decoding when its header declares another
    /// size than <paramref name="expectedSize"/>.
    /// </summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="DataFormatException">The file is not a whole image SkiaSharp decodes, is too large, or has another size than expected.</exception>
    public static SKBitmap Decode(string path, string? imageId = null, (int Width, int Height)? expectedSize = null)
    {
        using var codec = OpenCodec(path, imageId, expectedSize);
        var info = codec.Info;
        // As SKBitmap.Decode: premultiplied alpha, no colour space.
        if (info.AlphaType == SKAlphaType.Unpremul) info.AlphaType = SKAlphaType.Premul;
        info.ColorSpace = null;
        var bitmap = new SKBitmap(info);
        try
        {
            var result = codec.GetPixels(info, bitmap.GetPixels());
            if (result == SKCodecResult.IncompleteInput)
                throw new DataFormatException("the image file is truncated: it ends before its last pixel (a cut-off copy or download)", path, imageId);
            if (result != SKCodecResult.Success)
                throw new DataFormatException($"the image cannot be decoded ({Describe(result)})", path, imageId);
            if (bitmap.ColorType is SKColorType.Bgra8888 or SKColorType.Rgba8888) return bitmap;
            // Grey or palette images: 32-bit pixels, as MLImage converts them.
            var converted = bitmap.Copy(SKColorType.Bgra8888)
                ?? throw new DataFormatException($"the image's pixel format {bitmap.ColorType} cannot be converted to BGRA", path, imageId);
            bitmap.Dispose();
            return converted;
        }
        catch
        {
            bitmap.Dispose();
            throw;
        }
    }

    /// <summary>Decodes <paramref name="path"/> as <see cref="MLImage"/> (the pixels <c>MLImage.CreateFromFile</c> gives), with the checks of <see cref="Decode"/>.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="DataFormatException">The file is not a whole image SkiaSharp decodes, or is too large.</exception>
    public static MLImage Load(string path, string? imageId = null)
    {
        using var bitmap = Decode(path, imageId);
        var format = bitmap.ColorType == SKColorType.Bgra8888 ? MLPixelFormat.Bgra32 : MLPixelFormat.Rgba32;
        return MLImage.CreateFromPixels(bitmap.Width, bitmap.Height, format, bitmap.GetPixelSpan());
    }

    private static SKCodec OpenCodec(string path, string? imageId, (int Width, int Height)? expectedSize = null)
    {
        InputFile.RequireRegular(path, "the image", imageId);
        var codec = SKCodec.Create(path, out var result);
        if (codec is null)
            throw new DataFormatException(result == SKCodecResult.Unimplemented
                ? "not an image SkiaSharp can decode: not JPEG, PNG, WebP, BMP or GIF data (or damaged from its first bytes)"
                : $"not an image SkiaSharp can decode ({Describe(result)})", path, imageId);
        var (width, height) = (codec.Info.Width, codec.Info.Height);
        if (expectedSize is { } size && (width, height) != size)
        {
            codec.Dispose();
            throw new DataFormatException($"the image is {width}×{height} but its segment map is {size.Width}×{size.Height}", path, imageId);
        }
        if (width < 1 || height < 1 || (long)width * height > MaxPixels)
        {
            codec.Dispose();
            throw new DataFormatException($"the image declares {width}×{height} pixels; at most {MaxPixels:N0} ({MaxPixels / 1_000_000} megapixels) are decoded", path, imageId);
        }
        return codec;
    }

    private static string Describe(SKCodecResult result) => result switch
    {
        SKCodecResult.IncompleteInput => "the file is truncated",
        SKCodecResult.InvalidInput or SKCodecResult.ErrorInInput => "the data is corrupt",
        SKCodecResult.Unimplemented => "an unsupported format or feature",
        SKCodecResult.InvalidConversion => "an unsupported pixel format",
        _ => result.ToString(),
    };
}
