using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using Microsoft.ML.Mask2Former.Formats;

namespace Microsoft.ML.Mask2Former.Tests.Formats;

/// <summary>
/// An image as plain samples: <c>Samples[(y·Width + x)·Channels + k]</c>, each below 2^BitDepth.
/// </summary>
internal sealed record TestImage(int Width, int Height, PngColorType ColorType, int BitDepth, int[] Samples)
{
    public int Channels => ColorType switch
    {
        PngColorType.Grayscale or PngColorType.Palette => 1,
        PngColorType.GrayscaleAlpha => 2,
        PngColorType.Rgb => 3,
        _ => 4,
    };

    public int BitsPerPixel => Channels * BitDepth;

    public int RowBytes => (Width * BitsPerPixel + 7) / 8;

    public int Sample(int x, int y, int k) => Samples[(y * Width + x) * Channels + k];

    /// <summary>Random samples (a seeded generator), mixed with flat runs so every filter sees both noise and constant areas.</summary>
    public static TestImage Random(int width, int height, PngColorType colorType, int bitDepth, int seed)
    {
        var rng = new Random(seed);
        var image = new TestImage(width, height, colorType, bitDepth, []);
        var samples = new int[width * height * image.Channels];
        var max = 1 << bitDepth;
        for (var i = 0; i < samples.Length; i++)
            samples[i] = rng.NextDouble() < 0.4 && i >= image.Channels ? samples[i - image.Channels] : rng.Next(max);
        return image with { Samples = samples };
    }

    /// <summary>Row <paramref name="y"/> packed as the PNG specification packs it, restricted to columns <paramref name="xs"/>.</summary>
    public byte[] Pack(int y, IReadOnlyList<int> xs)
    {
        var row = new byte[(xs.Count * BitsPerPixel + 7) / 8];
        var bit = 0;
        foreach (var x in xs)
        {
            for (var k = 0; k < Channels; k++)
            {
                var v = Sample(x, y, k);
                if (BitDepth == 16)
                {
                    row[bit / 8] = (byte)(v >> 8);
                    row[bit / 8 + 1] = (byte)v;
                }
                else
                {
                    row[bit / 8] |= (byte)(v << (8 - BitDepth - bit % 8));
                }
                bit += BitDepth;
            }
        }
        return row;
    }

    /// <summary>All rows packed back to back (the layout <see cref="Png.Write"/> takes).</summary>
    public byte[] PackAll()
    {
        var all = new byte[RowBytes * Height];
        var xs = Enumerable.Range(0, Width).ToArray();
        for (var y = 0; y < Height; y++) Pack(y, xs).CopyTo(all, y * RowBytes);
        return all;
    }

    /// <summary>The samples of one packed row (the inverse of <see cref="Pack"/> over all columns).</summary>
    public int[] Unpack(ReadOnlySpan<byte> row)
    {
        var samples = new int[Width * Channels];
        var bit = 0;
        for (var i = 0; i < samples.Length; i++)
        {
            samples[i] = BitDepth == 16
                ? row[bit / 8] << 8 | row[bit / 8 + 1]
                : (row[bit / 8] >> (8 - BitDepth - bit % 8)) & ((1 << BitDepth) - 1);
            bit += BitDepth;
        }
        return samples;
    }
}

/// <summary>
/// Builds PNG files byte by byte, independently of the codec under test: its own CRC (bit by
/// bit), its own filters, and Adam7 from the specification's 8×8 pass matrix. Tests use it to
/// make valid files in every mode and to break them in controlled ways.
/// </summary>
internal static class PngTestFiles
{
    public static readonly byte[] Signature = [137, 80, 78, 71, 13, 10, 26, 10];

    // PNG specification section 8.2: which pass (1..7) each pixel of an 8×8 tile belongs to.
    private static readonly int[,] Adam7Matrix =
    {
        { 1, 6, 4, 6, 2, 6, 4, 6 },
        { 7, 7, 7, 7, 7, 7, 7, 7 },
        { 5, 6, 5, 6, 5, 6, 5, 6 },
        { 7, 7, 7, 7, 7, 7, 7, 7 },
        { 3, 6, 4, 6, 3, 6, 4, 6 },
        { 7, 7, 7, 7, 7, 7, 7, 7 },
        { 5, 6, 5, 6, 5, 6, 5, 6 },
        { 7, 7, 7, 7, 7, 7, 7, 7 },
    };

    /// <summary>CRC-32 (reflected 0xEDB88320), one bit at a time.</summary>
    public static uint Crc(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
        }
        return ~crc;
    }

    /// <summary>One chunk: length, type, data, CRC over type and data.</summary>
    public static byte[] Chunk(string type, ReadOnlySpan<byte> data)
    {
        var chunk = new byte[12 + data.Length];
        BinaryPrimitives.WriteUInt32BigEndian(chunk, (uint)data.Length);
        Encoding.ASCII.GetBytes(type).CopyTo(chunk, 4);
        data.CopyTo(chunk.AsSpan(8));
        BinaryPrimitives.WriteUInt32BigEndian(chunk.AsSpan(8 + data.Length), Crc(chunk.AsSpan(4, 4 + data.Length)));
        return chunk;
    }

    public static byte[] Ihdr(int width, int height, int bitDepth, int colorType, int interlace = 0, int compression = 0, int filter = 0)
    {
        var d = new byte[13];
        BinaryPrimitives.WriteUInt32BigEndian(d, (uint)width);
        BinaryPrimitives.WriteUInt32BigEndian(d.AsSpan(4), (uint)height);
        d[8] = (byte)bitDepth;
        d[9] = (byte)colorType;
        d[10] = (byte)compression;
        d[11] = (byte)filter;
        d[12] = (byte)interlace;
        return Chunk("IHDR", d);
    }

    public static byte[] Iend() => Chunk("IEND", []);

    /// <summary>Signature followed by the chunks.</summary>
    public static byte[] Assemble(params byte[][] chunks) => [.. Signature, .. chunks.SelectMany(c => c)];

    public static byte[] Zlib(ReadOnlySpan<byte> raw)
    {
        var ms = new MemoryStream();
        using (var z = new ZLibStream(ms, CompressionLevel.Optimal, leaveOpen: true)) z.Write(raw);
        return ms.ToArray();
    }

    /// <summary>
    /// The uncompressed scanlines of <paramref name="image"/>: per row a filter byte (filter
    /// <c>filterOf(rowIndex)</c>, rows counted across passes) and the filtered row.
    /// </summary>
    public static byte[] Scanlines(TestImage image, bool interlaced, Func<int, int> filterOf)
    {
        var output = new MemoryStream();
        var bpp = Math.Max(1, image.BitsPerPixel / 8);
        var rowIndex = 0;
        foreach (var pass in Passes(image.Width, image.Height, interlaced))
        {
            byte[]? prev = null;
            foreach (var (y, xs) in pass)
            {
                var raw = image.Pack(y, xs);
                prev ??= new byte[raw.Length];
                var filter = filterOf(rowIndex++);
                output.WriteByte((byte)filter);
                output.Write(Filter(filter, raw, prev, bpp));
                prev = raw;
            }
        }
        return output.ToArray();
    }

    /// <summary>A complete file; the image data split into IDAT chunks of <paramref name="idatSize"/> bytes.</summary>
    public static byte[] Encode(TestImage image, bool interlaced = false, Func<int, int>? filterOf = null, int idatSize = 1 << 20,
        byte[]? palette = null)
    {
        var data = Zlib(Scanlines(image, interlaced, filterOf ?? (r => r % 5)));
        var chunks = new List<byte[]> { Ihdr(image.Width, image.Height, image.BitDepth, (int)image.ColorType, interlaced ? 1 : 0) };
        if (image.ColorType == PngColorType.Palette) chunks.Add(Chunk("PLTE", palette ?? DefaultPalette(image.BitDepth)));
        for (var i = 0; i < data.Length; i += idatSize) chunks.Add(Chunk("IDAT", data.AsSpan(i, Math.Min(idatSize, data.Length - i))));
        chunks.Add(Iend());
        return Assemble([.. chunks]);
    }

    public static byte[] DefaultPalette(int bitDepth) =>
        Enumerable.Range(0, 1 << bitDepth).SelectMany(i => new[] { (byte)i, (byte)(255 - i), (byte)(i * 7) }).ToArray();

    /// <summary>The rows of each Adam7 pass (or one pass of all rows): row index and its columns, in order.</summary>
    public static List<List<(int Y, int[] Xs)>> Passes(int width, int height, bool interlaced)
    {
        var passes = new List<List<(int, int[])>>();
        if (!interlaced)
        {
            var all = Enumerable.Range(0, width).ToArray();
            passes.Add(Enumerable.Range(0, height).Select(y => (y, all)).ToList());
            return passes;
        }
        for (var p = 1; p <= 7; p++)
        {
            var rows = new List<(int, int[])>();
            for (var y = 0; y < height; y++)
            {
                var xs = Enumerable.Range(0, width).Where(x => Adam7Matrix[y % 8, x % 8] == p).ToArray();
                if (xs.Length > 0) rows.Add((y, xs));
            }
            if (rows.Count > 0) passes.Add(rows);
        }
        return passes;
    }

    private static byte[] Filter(int type, byte[] raw, byte[] prev, int bpp)
    {
        var f = new byte[raw.Length];
        for (var i = 0; i < raw.Length; i++)
        {
            int a = i >= bpp ? raw[i - bpp] : 0, b = prev[i], c = i >= bpp ? prev[i - bpp] : 0;
            var predictor = type switch
            {
                0 => 0,
                1 => a,
                2 => b,
                3 => (a + b) / 2,
                4 => Paeth(a, b, c),
                _ => 0,
            };
            f[i] = (byte)(raw[i] - predictor);
        }
        return f;
    }

    // Written as in the specification (section 9.4), to check the codec's rearranged version.
    private static int Paeth(int a, int b, int c)
    {
        var p = a + b - c;
        int pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        if (pa <= pb && pa <= pc) return a;
        if (pb <= pc) return b;
        return c;
    }
}
