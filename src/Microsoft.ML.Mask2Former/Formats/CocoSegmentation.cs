using System.Buffers;
using System.Runtime.InteropServices;
using System.Text;
namespace Microsoft.ML.Mask2Former.Formats;

/// <summary>
/// The <c>segmentation</c> of a COCO instance annotation or result: a list of polygons, or a
/// run-length-encoded mask (compressed string or uncompressed counts, both held here as a
/// <see cref="CocoRle"/>). Immutable.
/// </summary>
public sealed class CocoSegmentation
{
    private CocoSegmentation(IReadOnlyList<IReadOnlyList<double>>? polygons, CocoRle? rle)
    {
        Polygons = polygons;
        Rle = rle;
    }

    /// <summary>The polygons [x0, y0, x1, y1, …], or <see langword="null"/> for an RLE segmentation.</summary>
    public IReadOnlyList<IReadOnlyList<double>>? Polygons { get; }

    /// <summary>The mask, or <see langword="null"/> for a polygon segmentation.</summary>
    public CocoRle? Rle { get; }

    /// <summary>
    /// A polygon segmentation. As in pycocotools, when the first polygon has exactly four numbers
    /// every entry is read as a box [x, y, width, height] instead.
    /// </summary>
    /// <exception cref="ArgumentException">No polygons, an empty or odd-length polygon, boxes mixed with polygons, or a non-finite coordinate.</exception>
    public static CocoSegmentation FromPolygons(IReadOnlyList<IReadOnlyList<double>> polygons)
    {
        ArgumentNullException.ThrowIfNull(polygons);
        if (polygons.Count == 0) throw new ArgumentException("a polygon segmentation needs at least one polygon", nameof(polygons));
        var boxes = polygons[0].Count == 4;
        for (var i = 0; i < polygons.Count; i++)
        {
            var p = polygons[i];
            if (boxes && p.Count != 4)
                throw new ArgumentException($"polygon {i} has {p.Count} numbers, but the first has 4, which pycocotools reads as a list of boxes [x, y, w, h]", nameof(polygons));
            if (!boxes && (p.Count < 2 || p.Count % 2 != 0))
                throw new ArgumentException($"polygon {i} has {p.Count} numbers; a polygon is a non-empty list of x, y pairs", nameof(polygons));
            foreach (var v in p)
            {
                if (!double.IsFinite(v) || Math.Abs(v) > CocoPolygon.MaxCoordinate)
                    throw new ArgumentException($"polygon {i} has coordinate {v}, not finite or beyond ±{CocoPolygon.MaxCoordinate}", nameof(polygons));
            }
        }
        if (polygons[0].Count < 4)
            throw new ArgumentException($"the first polygon has {polygons[0].Count} numbers; pycocotools needs at least 4", nameof(polygons));
        return new CocoSegmentation(polygons.Select(p => (IReadOnlyList<double>)p.ToArray()).ToArray(), null);
    }

    /// <summary>A run-length-encoded segmentation.</summary>
    public static CocoSegmentation FromRle(CocoRle rle)
    {
        ArgumentNullException.ThrowIfNull(rle);
        return new CocoSegmentation(null, rle);
    }

    /// <summary>
    /// The mask in an image of the given size, as pycocotools' <c>annToRLE</c> builds it: polygons
    /// (or boxes) are rasterised and merged; an RLE is used as it is.
    /// </summary>
    /// <exception cref="ArgumentException">An RLE whose size differs from the image's.</exception>
    public CocoRle ToRle(int height, int width)
    {
        if (Rle is not null)
        {
            if (Rle.Height != height || Rle.Width != width)
                throw new ArgumentException($"mask size {Rle.Height}x{Rle.Width} differs from its image's {height}x{width}");
            return Rle;
        }
        var parts = new CocoRle[Polygons!.Count];
        var boxes = Polygons[0].Count == 4;
        for (var i = 0; i < parts.Length; i++)
        {
            var p = Polygons[i];
            parts[i] = boxes
                ? CocoRle.FromBoundingBox(p[0], p[1], p[2], p[3], height, width)
                : CocoRle.FromPolygon(((double[])p).AsSpan(), height, width);
        }
        return CocoRle.Merge(parts);
    }

    /// <summary>Writes the segmentation as COCO JSON (polygons as arrays; an RLE as <c>{"size", "counts"}</c> with the compressed string).</summary>
    public void WriteJson(Utf8JsonWriter w)
    {
        ArgumentNullException.ThrowIfNull(w);
        if (Rle is not null)
        {
            w.WriteStartObject();
            w.WriteStartArray("size");
            w.WriteNumberValue(Rle.Height);
            w.WriteNumberValue(Rle.Width);
            w.WriteEndArray();
            w.WriteString("counts", Rle.ToCompressedString());
            w.WriteEndObject();
            return;
        }
        w.WriteStartArray();
        foreach (var p in Polygons!)
        {
            w.WriteStartArray();
            foreach (var v in p) w.WriteNumberValue(v);
            w.WriteEndArray();
        }
        w.WriteEndArray();
    }

    /// <summary>
    /// Decodes (or with <paramref name="keep"/> false, only checks) a compressed <c>counts</c>
    /// string from the document's UTF-8 bytes without making a string of it. A backslash is a valid
    /// RLE character (JSON writes it <c>\\</c>, and some writers escape others as <c>\uXXXX</c>), so
    /// escaped strings are undone into a pooled buffer first; non-ASCII bytes, never valid, go
    /// through <see cref="JsonElement.GetString"/> for the error message.
    /// </summary>
    private static CocoRle? CompressedCounts(JsonElement counts, int height, int width, bool keep)
    {
        var raw = JsonMarshal.GetRawUtf8Value(counts);
        if (raw.Length >= 2 && raw[0] == (byte)'"') raw = raw[1..^1];
        if (!Ascii.IsValid(raw)) return CocoRle.FromCompressedString(counts.GetString()!, height, width);
        if (raw.IndexOf((byte)'\\') < 0) return Decode(raw, height, width, keep);
        var buffer = ArrayPool<char>.Shared.Rent(raw.Length);
        try
        {
            var n = 0;
            for (var i = 0; i < raw.Length; i++)
            {
                var c = (char)raw[i];
                if (c == '\\')
                {
                    // The document was validated on parsing: every escape is complete.
                    var e = (char)raw[++i];
                    if (e == 'u')
                    {
                        c = (char)int.Parse(raw.Slice(i + 1, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
                        i += 4;
                    }
                    else
                    {
                        c = e switch { 'b' => '\b', 'f' => '\f', 'n' => '\n', 'r' => '\r', 't' => '\t', _ => e };
                    }
                }
                buffer[n++] = c;
            }
            return Decode<char>(buffer.AsSpan(0, n), height, width, keep);
        }
        finally
        {
            ArrayPool<char>.Shared.Return(buffer);
        }

        static CocoRle? Decode<TChar>(ReadOnlySpan<TChar> s, int h, int w, bool keep) where TChar : unmanaged, System.Numerics.IBinaryInteger<TChar>
        {
            if (keep) return CocoRle.FromCompressed(s, h, w, longLived: true);
            CocoRle.CheckCompressed(s, h, w);
            return null;
        }
    }

    /// <summary>
    /// Checks a <c>segmentation</c> value as <see cref="Parse"/> does, and its mask size against
    /// its image's, without keeping a decoded compressed mask (for readers that do not need masks).
    /// </summary>
    internal static void Check(JsonElement value, JsonFields f, (int Height, int Width)? imageSize)
    {
        int h, w;
        if (value.ValueKind == JsonValueKind.Object && value.TryGetProperty("counts", out var counts) && counts.ValueKind == JsonValueKind.String)
        {
            (h, w) = Size(value, f);
            try
            {
                CompressedCounts(counts, h, w, keep: false);
            }
            catch (Exception e) when (e is FormatException and not DataFormatException || e is ArgumentException)
            {
                throw f.Error($"segmentation: {e.Message}");
            }
        }
        else if (Parse(value, f).Rle is { } rle)
        {
            (h, w) = (rle.Height, rle.Width);
        }
        else
        {
            return;
        }
        if (imageSize is { } size && (size.Height != h || size.Width != w))
            throw f.Error($"segmentation: mask size {h}x{w} differs from its image's {size.Height}x{size.Width}");
    }

    private static (int Height, int Width) Size(JsonElement value, JsonFields f)
    {
        var size = f.Required(value, "size", JsonValueKind.Array);
        if (size.GetArrayLength() != 2) throw f.Error($"segmentation size must be [height, width], found {size.GetRawText()}");
        var h = f.AsInteger(size[0], "size");
        var w = f.AsInteger(size[1], "size");
        if (h < 0 || w < 0 || h > int.MaxValue || w > int.MaxValue) throw f.Error($"segmentation size [{h}, {w}] is out of range");
        return ((int)h, (int)w);
    }

    /// <summary>Reads a <c>segmentation</c> value; errors go through <paramref name="f"/>, which names the file and item.</summary>
    internal static CocoSegmentation Parse(JsonElement value, JsonFields f)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Array:
            {
                var polygons = new List<IReadOnlyList<double>>();
                foreach (var p in value.EnumerateArray())
                {
                    if (p.ValueKind != JsonValueKind.Array) throw f.Error($"segmentation polygon {polygons.Count} must be an array of numbers, found {p.ValueKind}");
                    polygons.Add(p.EnumerateArray().Select(v => f.Number(v, "segmentation")).ToArray());
                }
                try
                {
                    return FromPolygons(polygons);
                }
                catch (ArgumentException e)
                {
                    throw f.Error($"segmentation: {e.Message}");
                }
            }
            case JsonValueKind.Object:
            {
                var (h, w) = Size(value, f);
                if (!value.TryGetProperty("counts", out var counts)) throw f.Error("segmentation is missing field 'counts'");
                try
                {
                    if (counts.ValueKind == JsonValueKind.String)
                        return FromRle(CompressedCounts(counts, h, w, keep: true)!);
                    if (counts.ValueKind == JsonValueKind.Array)
                    {
                        var list = new uint[counts.GetArrayLength()];
                        var i = 0;
                        foreach (var c in counts.EnumerateArray())
                        {
                            var n = f.AsInteger(c, "counts");
                            if (n < 0 || n > uint.MaxValue) throw f.Error($"segmentation counts[{i}] = {n} is outside 0..{uint.MaxValue}");
                            list[i++] = (uint)n;
                        }
                        return FromRle(CocoRle.FromCounts(list, h, w));
                    }
                }
                catch (Exception e) when (e is FormatException and not DataFormatException || e is ArgumentException)
                {
                    throw f.Error($"segmentation: {e.Message}");
                }
                throw f.Error($"segmentation counts must be a string (compressed RLE) or an array of integers, found {counts.ValueKind}");
            }
            default:
                throw f.Error($"segmentation must be a list of polygons or an RLE object, found {value.ValueKind}");
        }
    }
}
