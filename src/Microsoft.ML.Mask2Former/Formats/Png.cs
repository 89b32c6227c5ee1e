using System.IO.Compression;

namespace Microsoft.ML.Mask2Former.Formats;

/// <summary>
/// Whole-image PNG reading and writing for segmentation maps: panoptic segment ids (COCO
/// panoptic RGB encoding <c>R + 256·G + 65536·B</c>) and integer label maps (grayscale).
/// For row-by-row reading use <see cref="PngRowReader"/>.
/// </summary>
public static class Png
{
    /// <summary>The deflate level of every file written here (see the remarks of <see cref="WriteIds(Stream, ReadOnlySpan{uint}, int, int)"/>).</summary>
    internal const CompressionLevel Level = CompressionLevel.Optimal;

    /// <summary>Reads an 8-bit RGB or RGBA panoptic PNG as row-major segment ids (alpha ignored).</summary>
    /// <param name="path">The PNG file.</param>
    /// <param name="width">The image width.</param>
    /// <param name="height">The image height.</param>
    /// <returns><paramref name="width"/> × <paramref name="height"/> ids, row by row.</returns>
    /// <exception cref="DataFormatException">The file is not a valid 8-bit RGB / RGBA PNG.</exception>
    public static uint[] ReadIds(string path, out int width, out int height)
    {
        using var png = PngRowReader.Open(path);
        width = png.Width;
        height = png.Height;
        var ids = new uint[(long)png.Width * png.Height];
        for (var y = 0; y < png.Height; y++) png.ReadIdRow(ids.AsSpan(y * png.Width, png.Width));
        return ids;
    }

    /// <summary>Reads a grayscale (bit depth 1 to 16) or palette PNG as row-major integer labels (grey values or palette indices).</summary>
    /// <param name="path">The PNG file.</param>
    /// <param name="width">The image width.</param>
    /// <param name="height">The image height.</param>
    /// <returns><paramref name="width"/> × <paramref name="height"/> labels, row by row.</returns>
    /// <exception cref="DataFormatException">The file is not a valid single-channel PNG.</exception>
    public static int[] ReadLabels(string path, out int width, out int height)
    {
        using var png = PngRowReader.Open(path);
        width = png.Width;
        height = png.Height;
        var labels = new int[(long)png.Width * png.Height];
        for (var y = 0; y < png.Height; y++) png.ReadLabelRow(labels.AsSpan(y * png.Width, png.Width));
        return labels;
    }

    /// <summary>
    /// Writes segment ids as an 8-bit RGB PNG (<c>R = id &amp; 255</c>, <c>G = (id &gt;&gt; 8) &amp; 255</c>,
    /// <c>B = id &gt;&gt; 16</c>), atomically: through a temporary file in the same folder that then
    /// replaces <paramref name="path"/>.
    /// </summary>
    /// <param name="path">The file to create or replace.</param>
    /// <param name="ids">Row-major ids, <paramref name="width"/> × <paramref name="height"/> of them, each at most 0xFFFFFF.</param>
    /// <param name="width">Image width (&gt; 0).</param>
    /// <param name="height">Image height (&gt; 0).</param>
    /// <exception cref="ArgumentException">A size is invalid or an id does not fit in 24 bits.</exception>
    public static void WriteIds(string path, ReadOnlySpan<uint> ids, int width, int height)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ValidateIds(ids, width, height);
        // A span cannot enter the lambda; the array copy is cheap next to compression.
        var copy = ids.ToArray();
        AtomicFile.Write(path, s => WriteIdsCore(s, copy, width, height));
    }

    /// <summary>Writes segment ids as an 8-bit RGB PNG to a stream (see <see cref="WriteIds(string, ReadOnlySpan{uint}, int, int)"/>).</summary>
    /// <param name="stream">The destination, written sequentially and left open.</param>
    /// <param name="ids">Row-major ids, <paramref name="width"/> × <paramref name="height"/> of them, each at most 0xFFFFFF.</param>
    /// <param name="width">Image width (&gt; 0).</param>
    /// <param name="height">Image height (&gt; 0).</param>
    /// <remarks>
    /// Every row is filtered with Up (difference to the row above) and deflated at
    /// <see cref="CompressionLevel.Optimal"/>: on segment maps this gives files slightly smaller
    /// than Pillow's and rows that decode with one vector add.
    /// </remarks>
    /// <exception cref="ArgumentException">A size is invalid or an id does not fit in 24 bits.</exception>
    public static void WriteIds(Stream stream, ReadOnlySpan<uint> ids, int width, int height)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ValidateIds(ids, width, height);
        WriteIdsCore(stream, ids, width, height);
    }

    /// <summary>
    /// Writes integer labels as a grayscale PNG, atomically (temporary file, then rename): 8-bit
    /// when every label is in 0..255, otherwise 16-bit.
    /// </summary>
    /// <param name="path">The file to create or replace.</param>
    /// <param name="labels">Row-major labels, <paramref name="width"/> × <paramref name="height"/> of them, each in 0..65535.</param>
    /// <param name="width">Image width (&gt; 0).</param>
    /// <param name="height">Image height (&gt; 0).</param>
    /// <exception cref="ArgumentException">A size is invalid or a label is negative or above 65535.</exception>
    public static void WriteLabels(string path, ReadOnlySpan<int> labels, int width, int height)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        CheckSize(width, height, labels.Length, nameof(labels));
        var max = 0;
        for (var i = 0; i < labels.Length; i++)
        {
            var v = labels[i];
            if ((uint)v > 65535)
                throw new ArgumentException($"label {v} at pixel ({i % width}, {i / width}) cannot be stored in a grayscale PNG (0..65535)", nameof(labels));
            if (v > max) max = v;
        }
        var depth = max <= 255 ? 8 : 16;
        var copy = labels.ToArray();
        AtomicFile.Write(path, s =>
        {
            var encoder = new PngEncoder(s, width, height, PngColorType.Grayscale, depth, default, interlaced: false, PngEncoder.DefaultFilter, Level);
            encoder.BeginPass(width);
            var row = new byte[width * depth / 8];
            for (var y = 0; y < height; y++)
            {
                var src = copy.AsSpan(y * width, width);
                if (depth == 8)
                {
                    for (var x = 0; x < width; x++) row[x] = (byte)src[x];
                }
                else
                {
                    for (var x = 0; x < width; x++)
                    {
                        row[2 * x] = (byte)(src[x] >> 8);
                        row[2 * x + 1] = (byte)src[x];
                    }
                }
                encoder.WriteRow(row);
            }
            encoder.Finish();
        });
    }

    /// <summary>
    /// Writes any PNG from packed rows: the general writer (grayscale, RGB, palette, grey + alpha,
    /// RGBA at every legal bit depth, optionally Adam7-interlaced).
    /// </summary>
    /// <param name="stream">The destination, written sequentially and left open.</param>
    /// <param name="width">Image width (&gt; 0).</param>
    /// <param name="height">Image height (&gt; 0).</param>
    /// <param name="colorType">The colour type.</param>
    /// <param name="bitDepth">Bits per sample, legal for <paramref name="colorType"/>.</param>
    /// <param name="packedRows">
    /// <paramref name="height"/> rows of <c>ceil(width · channels · bitDepth / 8)</c> bytes each, packed
    /// as the PNG specification packs them (samples big-endian, sub-byte pixels from the high bits,
    /// no filter byte).
    /// </param>
    /// <param name="paletteRgb">The palette as RGB triples: required for <see cref="PngColorType.Palette"/>, optional for RGB / RGBA, refused otherwise.</param>
    /// <param name="interlaced">Whether to write the image Adam7-interlaced.</param>
    /// <exception cref="ArgumentException">The sizes, the mode, the row data or the palette are inconsistent.</exception>
    public static void Write(Stream stream, int width, int height, PngColorType colorType, int bitDepth, ReadOnlySpan<byte> packedRows,
        ReadOnlySpan<byte> paletteRgb = default, bool interlaced = false) =>
        WriteCore(stream, width, height, colorType, bitDepth, packedRows, paletteRgb, interlaced, PngEncoder.DefaultFilter, Level);

    /// <summary><see cref="Write"/> with a chosen filter type (0..4, the same for every row) and deflate level.</summary>
    internal static void WriteCore(Stream stream, int width, int height, PngColorType colorType, int bitDepth, ReadOnlySpan<byte> packedRows,
        ReadOnlySpan<byte> paletteRgb, bool interlaced, int filter, CompressionLevel level)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (!Enum.IsDefined(colorType)) throw new ArgumentException($"unknown PNG colour type {(int)colorType}", nameof(colorType));
        if (!PngFormat.IsLegal(colorType, bitDepth))
            throw new ArgumentException($"bit depth {bitDepth} is not allowed for colour type {colorType}", nameof(bitDepth));
        if (filter is < PngFilters.None or > PngFilters.Paeth) throw new ArgumentOutOfRangeException(nameof(filter));
        CheckSize(width, height, -1, nameof(packedRows));
        var bitsPerPixel = PngFormat.Channels(colorType) * bitDepth;
        var rowBytes = PngFormat.RowBytes(width, bitsPerPixel);
        if (rowBytes * height != packedRows.Length)
            throw new ArgumentException($"{packedRows.Length} bytes of rows given; a {width}×{height} {PngFormat.Describe(colorType, bitDepth)} image needs {rowBytes * height}", nameof(packedRows));
        if (colorType == PngColorType.Palette && paletteRgb.IsEmpty) throw new ArgumentException("a palette image needs a palette", nameof(paletteRgb));
        if (!paletteRgb.IsEmpty)
        {
            if (colorType is PngColorType.Grayscale or PngColorType.GrayscaleAlpha)
                throw new ArgumentException("grayscale images cannot carry a palette", nameof(paletteRgb));
            var entries = paletteRgb.Length / 3;
            if (paletteRgb.Length % 3 != 0 || entries > 256)
                throw new ArgumentException($"the palette has {paletteRgb.Length} bytes; it must be 1 to 256 RGB triples", nameof(paletteRgb));
            if (colorType == PngColorType.Palette && entries > 1 << bitDepth)
                throw new ArgumentException($"the palette has {entries} entries, more than {bitDepth}-bit indices address", nameof(paletteRgb));
        }

        var encoder = new PngEncoder(stream, width, height, colorType, bitDepth, paletteRgb, interlaced, filter, level);
        var rb = (int)rowBytes;
        if (!interlaced)
        {
            encoder.BeginPass(width);
            for (var y = 0; y < height; y++) encoder.WriteRow(packedRows.Slice(y * rb, rb));
        }
        else
        {
            var adam7 = PngFormat.Adam7;
            var passRow = new byte[rb];
            for (var pass = 0; pass < 7; pass++)
            {
                var (pw, ph) = PngFormat.PassSize(pass, width, height);
                if (pw == 0 || ph == 0) continue;
                int x0 = adam7[pass * 4], y0 = adam7[pass * 4 + 1], dx = adam7[pass * 4 + 2], dy = adam7[pass * 4 + 3];
                var prb = (int)PngFormat.RowBytes(pw, bitsPerPixel);
                encoder.BeginPass(pw);
                for (var r = 0; r < ph; r++)
                {
                    var dest = passRow.AsSpan(0, prb);
                    dest.Clear();
                    Gather(packedRows.Slice((y0 + r * dy) * rb, rb), bitsPerPixel, x0, dx, pw, dest);
                    encoder.WriteRow(dest);
                }
            }
        }
        encoder.Finish();
    }

    /// <summary>Collects pixels x0, x0 + dx, … of a packed row into a packed pass row (cleared by the caller).</summary>
    private static void Gather(ReadOnlySpan<byte> row, int bitsPerPixel, int x0, int dx, int count, Span<byte> dest)
    {
        if (bitsPerPixel >= 8)
        {
            var bpp = bitsPerPixel / 8;
            for (var i = 0; i < count; i++) row.Slice((x0 + i * dx) * bpp, bpp).CopyTo(dest.Slice(i * bpp, bpp));
            return;
        }
        var mask = (1 << bitsPerPixel) - 1;
        for (var i = 0; i < count; i++)
        {
            var sbit = (x0 + i * dx) * bitsPerPixel;
            var v = (row[sbit >> 3] >> (8 - bitsPerPixel - (sbit & 7))) & mask;
            var dbit = i * bitsPerPixel;
            dest[dbit >> 3] |= (byte)(v << (8 - bitsPerPixel - (dbit & 7)));
        }
    }

    private static void WriteIdsCore(Stream stream, ReadOnlySpan<uint> ids, int width, int height)
    {
        var encoder = new PngEncoder(stream, width, height, PngColorType.Rgb, 8, default, interlaced: false, PngEncoder.DefaultFilter, Level);
        encoder.BeginPass(width);
        var row = new byte[3 * width];
        for (var y = 0; y < height; y++)
        {
            var src = ids.Slice(y * width, width);
            for (var x = 0; x < width; x++)
            {
                var id = src[x];
                row[3 * x] = (byte)id;
                row[3 * x + 1] = (byte)(id >> 8);
                row[3 * x + 2] = (byte)(id >> 16);
            }
            encoder.WriteRow(row);
        }
        encoder.Finish();
    }

    private static void ValidateIds(ReadOnlySpan<uint> ids, int width, int height)
    {
        CheckSize(width, height, ids.Length, nameof(ids));
        for (var i = 0; i < ids.Length; i++)
        {
            if (ids[i] > 0xFFFFFF)
                throw new ArgumentException($"segment id {ids[i]} at pixel ({i % width}, {i / width}) does not fit in 24 bits (RGB PNG ids are at most 16777215)", nameof(ids));
        }
    }

    /// <summary>Checks the size; <paramref name="count"/> &lt; 0 skips the pixel-count comparison.</summary>
    private static void CheckSize(int width, int height, int count, string paramName)
    {
        if (width <= 0 || height <= 0) throw new ArgumentException($"invalid image size {width}×{height}; both must be positive");
        if ((long)width * height > PngFormat.MaxPixels)
            throw new ArgumentException($"image size {width}×{height} exceeds the limit of {PngFormat.MaxPixels} pixels");
        if (count >= 0 && count != (long)width * height)
            throw new ArgumentException($"{count} values given for a {width}×{height} image ({(long)width * height} pixels)", paramName);
    }
}
