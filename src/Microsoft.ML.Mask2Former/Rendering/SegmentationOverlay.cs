using SkiaSharp;

namespace Microsoft.ML.Mask2Former.Rendering;

/// <summary>
/// Draws a segmentation over its image: each segment tinted with its category's colour
/// (<see cref="CategoryPalette"/>), a line where the segment id changes, and a caption with the
/// score at the point of each segment farthest from its boundary. Output is PNG.
/// </summary>
public static class SegmentationOverlay
{
    /// <summary>Renders the overlay over the image file <paramref name="imagePath"/> (any format SkiaSharp decodes: PNG, JPEG, WebP, ...).</summary>
    /// <param name="imagePath">The image the segmentation was computed for.</param>
    /// <param name="segmentMap">Segment ids, row-major, <paramref name="width"/> × <paramref name="height"/> (the image's size); 0 = void.</param>
    /// <param name="width">Width of the map and the image.</param>
    /// <param name="height">Height of the map and the image.</param>
    /// <param name="segments">One entry per non-zero id in the map.</param>
    /// <param name="options">Drawing options, or <see langword="null"/> for the defaults.</param>
    /// <returns>The PNG bytes.</returns>
    /// <exception cref="DataFormatException">The image cannot be decoded or its size differs from the map's.</exception>
    /// <exception cref="ArgumentException">The map's length does not match the size, or the map holds an id missing from <paramref name="segments"/>.</exception>
    public static byte[] RenderPng(string imagePath, ReadOnlySpan<uint> segmentMap, int width, int height,
        IReadOnlyList<OverlaySegment> segments, OverlayOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(imagePath);
        // The size is checked from the header, before a (possibly huge) photo is decoded.
        using var decoded = ImageFile.Decode(imagePath, expectedSize: (width, height));
        using var bitmap = decoded.Copy(SKColorType.Rgba8888)
            ?? throw new DataFormatException("the image cannot be converted to RGBA", imagePath);
        return Render(bitmap, segmentMap, width, height, segments, options ?? new OverlayOptions());
    }

    /// <summary>Renders the overlay over interleaved 8-bit RGB pixels (row-major, 3 bytes per pixel), or over mid grey when <paramref name="rgb"/> is empty.</summary>
    /// <inheritdoc cref="RenderPng(string, ReadOnlySpan{uint}, int, int, IReadOnlyList{OverlaySegment}, OverlayOptions?)"/>
    public static byte[] RenderPng(ReadOnlySpan<byte> rgb, ReadOnlySpan<uint> segmentMap, int width, int height,
        IReadOnlyList<OverlaySegment> segments, OverlayOptions? options = null)
    {
        if (width <= 0 || height <= 0) throw new ArgumentException($"size must be positive, got {width}×{height}");
        if (!rgb.IsEmpty && rgb.Length != checked(width * height * 3))
            throw new ArgumentException($"rgb has {rgb.Length} bytes, expected {width}×{height}×3 = {(long)width * height * 3}", nameof(rgb));
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        var pixels = Pixels(bitmap);
        for (var i = 0; i < width * height; i++)
        {
            var o = 4 * i;
            pixels[o] = rgb.IsEmpty ? (byte)128 : rgb[3 * i];
            pixels[o + 1] = rgb.IsEmpty ? (byte)128 : rgb[3 * i + 1];
            pixels[o + 2] = rgb.IsEmpty ? (byte)128 : rgb[3 * i + 2];
            pixels[o + 3] = 255;
        }
        return Render(bitmap, segmentMap, width, height, segments, options ?? new OverlayOptions());
    }

    /// <summary>Renders like <see cref="RenderPng(string, ReadOnlySpan{uint}, int, int, IReadOnlyList{OverlaySegment}, OverlayOptions?)"/> and writes the PNG atomically.</summary>
    public static void Save(string outputPath, string imagePath, ReadOnlySpan<uint> segmentMap, int width, int height,
        IReadOnlyList<OverlaySegment> segments, OverlayOptions? options = null)
    {
        var png = RenderPng(imagePath, segmentMap, width, height, segments, options);
        AtomicFile.Write(outputPath, s => s.Write(png));
    }

    private static unsafe Span<byte> Pixels(SKBitmap bitmap) => new((void*)bitmap.GetPixels(), bitmap.ByteCount);

    private static byte[] Render(SKBitmap bitmap, ReadOnlySpan<uint> map, int width, int height,
        IReadOnlyList<OverlaySegment> segments, OverlayOptions options)
    {
        if (options.Scale is < 1 or > 16) throw new ArgumentException($"Scale must be in 1..16, got {options.Scale}", nameof(options));
        if (options.Scale > 1 && map.Length == (long)width * height)
        {
            var k = options.Scale;
            using var enlarged = bitmap.Resize(new SKImageInfo(width * k, height * k, SKColorType.Rgba8888, SKAlphaType.Unpremul), new SKSamplingOptions(SKCubicResampler.Mitchell))
                ?? throw new InvalidOperationException("SkiaSharp could not enlarge the image");
            var bigMap = new uint[width * k * height * k];
            for (var y = 0; y < height * k; y++)
            {
                var row = map.Slice(y / k * width, width);
                var target = bigMap.AsSpan(y * width * k, width * k);
                for (var x = 0; x < target.Length; x++) target[x] = row[x / k];
            }
            var scaled = new OverlayOptions
            {
                Opacity = options.Opacity,
                DrawBoundaries = options.DrawBoundaries,
                DrawLabels = options.DrawLabels,
                TextSize = options.TextSize,
                MinLabelArea = options.MinLabelArea * k * k,
                Scale = 1,
            };
            return Render(enlarged, bigMap, width * k, height * k, segments, scaled);
        }

        ArgumentNullException.ThrowIfNull(segments);
        if (map.Length != (long)width * height)
            throw new ArgumentException($"the segment map has {map.Length} ids, expected {width}×{height} = {(long)width * height}", nameof(map));
        if (options.Opacity is < 0 or > 1 || float.IsNaN(options.Opacity))
            throw new ArgumentException($"Opacity must be in [0, 1], got {options.Opacity}", nameof(options));

        var index = new Dictionary<uint, int>(segments.Count);
        for (var s = 0; s < segments.Count; s++)
        {
            if (segments[s].Id == 0) throw new ArgumentException($"segment {s} has id 0, which is void", nameof(segments));
            if (!index.TryAdd(segments[s].Id, s)) throw new ArgumentException($"segment id {segments[s].Id} is listed twice", nameof(segments));
        }

        // Per pixel: segment slot (-1 void), tint, boundary.
        var slot = new int[map.Length];
        var lastId = 0u;
        var lastSlot = -1;
        for (var i = 0; i < map.Length; i++)
        {
            var id = map[i];
            if (id != lastId)
            {
                lastId = id;
                if (id == 0) lastSlot = -1;
                else if (!index.TryGetValue(id, out lastSlot))
                    throw new ArgumentException($"the segment map holds id {id} (first at x={i % width}, y={i / width}) with no segment entry", nameof(segments));
            }
            slot[i] = id == 0 ? -1 : lastSlot;
        }

        var colors = new (byte R, byte G, byte B)[segments.Count];
        for (var s = 0; s < colors.Length; s++) colors[s] = CategoryPalette.ColorOf(segments[s].CategoryId);

        var pixels = Pixels(bitmap);
        var a = options.Opacity;
        for (var i = 0; i < slot.Length; i++)
        {
            var s = slot[i];
            if (s < 0) continue;
            var o = 4 * i;
            var (r, g, b) = colors[s];
            pixels[o] = (byte)(pixels[o] * (1 - a) + r * a + 0.5f);
            pixels[o + 1] = (byte)(pixels[o + 1] * (1 - a) + g * a + 0.5f);
            pixels[o + 2] = (byte)(pixels[o + 2] * (1 - a) + b * a + 0.5f);
        }

        var distance = InteriorDistance(map, width, height);
        if (options.DrawBoundaries)
        {
            // Pixels next to another id (distance 1) form the line; thicker on large images.
            var thickness = Math.Max(1, Math.Min(width, height) / 300);
            for (var i = 0; i < slot.Length; i++)
            {
                if (distance[i] > thickness || (slot[i] < 0 && !TouchesSegment(slot, i, width, height))) continue;
                var o = 4 * i;
                pixels[o] = pixels[o + 1] = pixels[o + 2] = 255;
            }
        }

        if (options.DrawLabels && segments.Count > 0)
        {
            var size = options.TextSize > 0 ? options.TextSize : MathF.Max(11, 0.022f * Math.Min(width, height));
            // Anchor: among the pixels deepest inside the segment, the one nearest its centroid.
            var area = new long[segments.Count];
            var sumX = new double[segments.Count];
            var sumY = new double[segments.Count];
            var depth = new int[segments.Count];
            for (var i = 0; i < slot.Length; i++)
            {
                var s = slot[i];
                if (s < 0) continue;
                area[s]++;
                sumX[s] += i % width;
                sumY[s] += i / width;
                depth[s] = Math.Max(depth[s], distance[i]);
            }
            var best = new int[segments.Count];
            var bestGap = new double[segments.Count];
            Array.Fill(best, -1);
            for (var i = 0; i < slot.Length; i++)
            {
                var s = slot[i];
                if (s < 0 || distance[i] != depth[s]) continue;
                var dx = i % width - sumX[s] / area[s];
                var dy = i / width - sumY[s] / area[s];
                var gap = dx * dx + dy * dy;
                if (best[s] < 0 || gap < bestGap[s]) (best[s], bestGap[s]) = (i, gap);
            }
            using var canvas = new SKCanvas(bitmap);
            for (var s = 0; s < segments.Count; s++)
            {
                if (best[s] < 0 || area[s] < options.MinLabelArea) continue;
                var seg = segments[s];
                var text = seg.Score is { } score ? $"{seg.Label} {score:0.00}" : seg.Label;
                var x = best[s] % width;
                var y = best[s] / width;
                RenderingText.DrawPlate(canvas, text, x, y, size, width, height);
            }
        }
        return RenderingText.EncodePng(bitmap);
    }

    private static bool TouchesSegment(int[] slot, int i, int width, int height)
    {
        var x = i % width;
        var y = i / width;
        return (x > 0 && slot[i - 1] >= 0) || (x + 1 < width && slot[i + 1] >= 0)
            || (y > 0 && slot[i - width] >= 0) || (y + 1 < height && slot[i + width] >= 0);
    }

    /// <summary>
    /// Chessboard distance of every pixel to the nearest pixel of another id (or the image edge),
    /// two raster passes: 1 on a boundary, large deep inside a segment.
    /// </summary>
    internal static int[] InteriorDistance(ReadOnlySpan<uint> map, int width, int height)
    {
        var d = new int[map.Length];
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                var i = y * width + x;
                var id = map[i];
                if (x == 0 || y == 0 || x == width - 1 || y == height - 1) { d[i] = 1; continue; }
                var m = int.MaxValue;
                for (var dx = -1; dx <= 1; dx++)
                {
                    var j = i - width + dx;
                    m = Math.Min(m, map[j] == id ? d[j] : 0);
                }
                m = Math.Min(m, map[i - 1] == id ? d[i - 1] : 0);
                d[i] = m + 1;
            }
        }
        for (var y = height - 1; y >= 0; y--)
        {
            for (var x = width - 1; x >= 0; x--)
            {
                var i = y * width + x;
                if (x == 0 || y == 0 || x == width - 1 || y == height - 1) continue;
                var id = map[i];
                var m = d[i];
                for (var dx = -1; dx <= 1; dx++)
                {
                    var j = i + width + dx;
                    m = Math.Min(m, (map[j] == id ? d[j] : 0) + 1);
                }
                m = Math.Min(m, (map[i + 1] == id ? d[i + 1] : 0) + 1);
                d[i] = m;
            }
        }
        return d;
    }
}
