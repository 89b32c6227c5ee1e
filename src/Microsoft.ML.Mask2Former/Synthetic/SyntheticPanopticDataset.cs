namespace Microsoft.ML.Mask2Former.Synthetic;

/// <summary>
/// Writes a small, deterministic COCO panoptic data set for tests, demos and smoke training:
/// photos of 2–3 textured background regions (stuff: sky, grass, sand) under filled shapes of
/// several colours (things: circle, square, triangle, cross), which may overlap but always stay at
/// least half visible.
/// </summary>
/// <remarks>
/// Layout of the folder: <c>images/NNNNNN.png</c> (RGB photos), <c>panoptic.json</c> (COCO
/// panoptic ground truth with categories, areas and boxes) and <c>panoptic/NNNNNN.png</c> (segment
/// ids as <c>R + 256·G + 256²·B</c>). Stuff segments have the id of their category; the n-th shape of
/// a category has id <c>category + 256·n</c>. The same seed and options give byte-identical files.
/// </remarks>
public static class SyntheticPanopticDataset
{
    /// <summary>The photo folder inside the data set folder.</summary>
    public const string ImagesFolder = "images";

    /// <summary>The segment-map PNG folder inside the data set folder.</summary>
    public const string SegmentMapsFolder = "panoptic";

    /// <summary>The COCO panoptic JSON file inside the data set folder.</summary>
    public const string AnnotationsFile = "panoptic.json";

    private static readonly SyntheticShapeKind[] ThingKinds = Enum.GetValues<SyntheticShapeKind>();

    /// <summary>The categories: things 1–4 (circle, square, triangle, cross), then stuff 5–7 (sky, grass, sand).</summary>
    public static IReadOnlyList<CocoPanopticCategory> Categories { get; } =
    [
        new(1, "circle", true, "shape", [220, 20, 60]),
        new(2, "square", true, "shape", [0, 0, 142]),
        new(3, "triangle", true, "shape", [250, 170, 30]),
        new(4, "cross", true, "shape", [119, 11, 32]),
        new(5, "sky", false, "background", [70, 130, 180]),
        new(6, "grass", false, "background", [107, 142, 35]),
        new(7, "sand", false, "background", [210, 180, 140]),
    ];

    private const int SkyId = 5, GrassId = 6, SandId = 7;

    private static readonly (byte R, byte G, byte B)[] ThingColours =
    [
        (220, 40, 40), (245, 140, 20), (240, 220, 40), (140, 60, 180), (225, 60, 170),
        (245, 245, 245), (30, 40, 120), (40, 200, 210), (25, 25, 25),
    ];

    /// <summary>Generates the data set into <paramref name="folder"/> (created if needed; files of the same names are replaced).</summary>
    /// <param name="folder">The data set folder.</param>
    /// <param name="options">Image count, size, seed and shape count.</param>
    /// <returns>The ground truth as written to <c>panoptic.json</c>.</returns>
    /// <exception cref="ArgumentException">An option is out of range.</exception>
    public static CocoPanopticDataset Generate(string folder, SyntheticPanopticOptions options)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var images = new List<CocoImage>(options.ImageCount);
        var annotations = new List<CocoPanopticAnnotation>(options.ImageCount);
        Directory.CreateDirectory(Path.Combine(folder, ImagesFolder));
        Directory.CreateDirectory(Path.Combine(folder, SegmentMapsFolder));
        for (var i = 0; i < options.ImageCount; i++)
        {
            var id = (i + 1).ToString(System.Globalization.CultureInfo.InvariantCulture);
            var fileName = $"{i + 1:D6}.png";
            // One generator per image, seeded from (seed, index): an image does not depend on the count.
            var random = new Random(unchecked(options.Seed * 1_000_003 + i * 7919 + 17));
            var (ids, rgb, segments) = RenderImage(random, options);
            AtomicFile.Write(Path.Combine(folder, ImagesFolder, fileName),
                s => Png.Write(s, options.Width, options.Height, PngColorType.Rgb, 8, rgb));
            Png.WriteIds(Path.Combine(folder, SegmentMapsFolder, fileName), ids, options.Width, options.Height);
            images.Add(new CocoImage(id, fileName, options.Width, options.Height));
            annotations.Add(new CocoPanopticAnnotation(id, fileName, segments));
        }
        var dataset = new CocoPanopticDataset(images, annotations, Categories, Path.Combine(folder, AnnotationsFile));
        dataset.Save(Path.Combine(folder, AnnotationsFile));
        return dataset;
    }

    private static (uint[] Ids, byte[] Rgb, List<CocoPanopticSegment> Segments) RenderImage(Random random, SyntheticPanopticOptions options)
    {
        var (width, height, maxThings) = (options.Width, options.Height, options.MaxThingsPerImage);
        var ids = new uint[width * height];
        PaintStuff(random, ids, width, height);

        var thingCount = maxThings == 0 ? 0 : random.Next(1, maxThings + 1);
        var shapes = new List<(uint Id, SyntheticShape Shape, int FullArea, (byte R, byte G, byte B) Colour)>();
        var perCategory = new int[Categories.Count + 1];
        var minSide = Math.Min(width, height);
        for (var n = 0; n < thingCount; n++)
        {
            for (var attempt = 0; attempt < 20; attempt++)
            {
                var kind = ThingKinds[random.Next(ThingKinds.Length)];
                var size = minSide * (options.MinThingSize + (options.MaxThingSize - options.MinThingSize) * random.NextDouble());
                var shape = new SyntheticShape(kind, random.NextDouble() * width, random.NextDouble() * height, size, random.NextDouble() * Math.PI);
                var drawn = ThingColours[random.Next(ThingColours.Length)];
                var colour = options.ColourByCategory ? ThingColours[(int)kind * 2 % ThingColours.Length] : drawn;
                var pixels = Rasterize(shape, width, height);
                if (pixels.Count < 12 || !KeepsOthersVisible(ids, pixels, shapes.Select(s => (s.Id, s.FullArea)))) continue;
                var category = (int)kind + 1;
                var id = (uint)(category + 256 * ++perCategory[category]);
                foreach (var p in pixels) ids[p] = id;
                shapes.Add((id, shape, pixels.Count, colour));
                break;
            }
        }

        var rgb = Paint(random, ids, width, height, shapes.ToDictionary(s => s.Id, s => (s.Shape, s.Colour)));
        return (ids, rgb, Describe(ids, width, height));
    }

    /// <summary>Stacks 2–3 distinct stuff categories as horizontal bands with wavy boundaries.</summary>
    private static void PaintStuff(Random random, uint[] ids, int width, int height)
    {
        uint[] stuff = [SkyId, GrassId, SandId];
        random.Shuffle(stuff);
        var bands = random.Next(2, 4);
        var boundaries = new (double Base, double Amplitude, double Frequency, double Phase)[bands - 1];
        for (var k = 0; k < boundaries.Length; k++)
        {
            var spacing = (double)height / bands;
            boundaries[k] = (spacing * (k + 1) + (random.NextDouble() - 0.5) * spacing * 0.25,
                spacing * 0.2 * random.NextDouble(), (0.5 + 2.5 * random.NextDouble()) * 2 * Math.PI / width, random.NextDouble() * 2 * Math.PI);
        }
        var edge = new double[boundaries.Length];
        for (var x = 0; x < width; x++)
        {
            for (var k = 0; k < boundaries.Length; k++)
            {
                var (b, a, f, p) = boundaries[k];
                edge[k] = b + a * Math.Sin(f * x + p);
            }
            for (var y = 0; y < height; y++)
            {
                var band = 0;
                foreach (var e in edge) if (y + 0.5 >= e) band++;
                ids[y * width + x] = stuff[band];
            }
        }
    }

    private static List<int> Rasterize(SyntheticShape shape, int width, int height)
    {
        var pixels = new List<int>();
        var (x0, y0, x1, y1) = shape.Bounds(width, height);
        for (var y = y0; y < y1; y++)
            for (var x = x0; x < x1; x++)
                if (shape.Contains(x + 0.5, y + 0.5)) pixels.Add(y * width + x);
        return pixels;
    }

    /// <summary>Whether every shape already placed keeps at least half of its own area visible under the new one.</summary>
    private static bool KeepsOthersVisible(uint[] ids, List<int> pixels, IEnumerable<(uint Id, int FullArea)> placed)
    {
        var covered = new Dictionary<uint, int>();
        foreach (var p in pixels) covered[ids[p]] = covered.GetValueOrDefault(ids[p]) + 1;
        foreach (var (id, fullArea) in placed)
        {
            if (!covered.TryGetValue(id, out var lost)) continue;
            var visible = ids.AsSpan().Count(id);
            if (2 * (visible - lost) < fullArea) return false;
        }
        return true;
    }

    private static byte[] Paint(Random random, uint[] ids, int width, int height,
        Dictionary<uint, (SyntheticShape Shape, (byte R, byte G, byte B) Colour)> things)
    {
        // Per-image variations of each texture's base colour.
        var skyShift = random.Next(-20, 21);
        var grassShift = random.Next(-25, 26);
        var sandShift = random.Next(-20, 21);
        var rgb = new byte[width * height * 3];
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                var id = ids[y * width + x];
                var noise = random.Next(-6, 7);
                double r, g, b;
                switch (id)
                {
                    case SkyId:
                        // A smooth gradient, lighter towards the bottom.
                        var t = (double)y / height;
                        (r, g, b) = (100 + skyShift + 60 * t, 160 + skyShift + 50 * t, 235 + 15 * t);
                        break;
                    case GrassId:
                        // Vertical blades: every third column darker, strong noise on green.
                        var blade = x % 3 == 0 ? -25 : 0;
                        (r, g, b) = (55 + blade / 2, 140 + grassShift + blade + 2 * noise, 45);
                        break;
                    case SandId:
                        // Diagonal ripples.
                        var ripple = (x + y) / 4 % 2 == 0 ? 12 : -12;
                        (r, g, b) = (215 + sandShift + ripple, 190 + sandShift + ripple, 140 + ripple);
                        break;
                    default:
                        var (shape, colour) = things[id];
                        // Lit from the top left: brighter on that side of the shape.
                        var light = 1.1 - 0.2 * ((x + 0.5 - shape.CenterX + y + 0.5 - shape.CenterY) / (4 * shape.Size) + 0.5);
                        (r, g, b) = (colour.R * light, colour.G * light, colour.B * light);
                        break;
                }
                var o = 3 * (y * width + x);
                rgb[o] = Clamp(r + noise);
                rgb[o + 1] = Clamp(g + noise);
                rgb[o + 2] = Clamp(b + noise);
            }
        }
        return rgb;
    }

    private static byte Clamp(double v) => (byte)Math.Clamp((int)Math.Round(v), 0, 255);

    /// <summary>One segment per id in the map, in id order, with its area and box.</summary>
    private static List<CocoPanopticSegment> Describe(uint[] ids, int width, int height)
    {
        var boxes = new SortedDictionary<uint, (int X0, int Y0, int X1, int Y1, long Area)>();
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                var id = ids[y * width + x];
                boxes[id] = boxes.TryGetValue(id, out var b)
                    ? (Math.Min(b.X0, x), Math.Min(b.Y0, y), Math.Max(b.X1, x), Math.Max(b.Y1, y), b.Area + 1)
                    : (x, y, x, y, 1);
            }
        }
        return boxes.Select(kv => new CocoPanopticSegment(kv.Key, (int)(kv.Key % 256), false, kv.Value.Area,
            [kv.Value.X0, kv.Value.Y0, kv.Value.X1 - kv.Value.X0 + 1, kv.Value.Y1 - kv.Value.Y0 + 1])).ToList();
    }
}
