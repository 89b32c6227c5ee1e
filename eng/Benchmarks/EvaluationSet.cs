using System.Globalization;
using Microsoft.ML.Mask2Former.Formats;

namespace Mask2Former.Benchmarks;

/// <summary>
/// A deterministic evaluation set in COCO panoptic format: ground-truth and prediction segment
/// maps of stuff bands and overlapping thing ellipses over the 133 COCO panoptic categories, with
/// crowd regions and void, plus the same things as COCO instance annotations and detections
/// (instances_gt.json; detections_bbox.json and detections_segm.json, one detection per predicted thing).
/// The predictions perturb the ground truth (moved boundaries, shifted and resized things, missed,
/// relabelled and spurious ones) so every matching rule is exercised at realistic rates.
/// </summary>
internal sealed class EvaluationSet
{
    public const int DefaultWidth = 640, DefaultHeight = 480;

    private EvaluationSet(string folder) => Folder = folder;

    public string Folder { get; }
    public string GtJson => Path.Combine(Folder, "panoptic_gt.json");
    public string GtFolder => Path.Combine(Folder, "panoptic_gt");
    public string PredJson => Path.Combine(Folder, "panoptic_pred.json");
    public string PredFolder => Path.Combine(Folder, "panoptic_pred");
    public string InstancesGtJson => Path.Combine(Folder, "instances_gt.json");
    public string DetectionsBboxJson => Path.Combine(Folder, "detections_bbox.json");
    public string DetectionsSegmJson => Path.Combine(Folder, "detections_segm.json");

    /// <summary>Generates the set into <paramref name="folder"/> unless a complete set with the same parameters is already there.</summary>
    public static EvaluationSet Ensure(string folder, int images, int seed = 17, int width = DefaultWidth, int height = DefaultHeight)
    {
        var set = new EvaluationSet(folder);
        var marker = Path.Combine(folder, "complete.txt");
        var signature = $"images={images} seed={seed} size={width}x{height} version=2";
        if (File.Exists(marker) && File.ReadAllText(marker) == signature) return set;
        if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        Directory.CreateDirectory(set.GtFolder);
        Directory.CreateDirectory(set.PredFolder);

        var categories = CocoPanopticDataset.Load(Path.Combine(RepoPaths.Root, "samples", "data", "panoptic-sample", "panoptic_gt.json")).Categories;
        var things = categories.Where(c => c.IsThing).Select(c => c.Id).ToArray();
        var stuff = categories.Where(c => !c.IsThing).Select(c => c.Id).ToArray();

        var gtImages = new CocoImage[images];
        var gtAnnotations = new CocoPanopticAnnotation[images];
        var predAnnotations = new CocoPanopticAnnotation[images];
        var thingSet = things.ToHashSet();
        var instances = new CocoInstanceAnnotation[images][];
        var detections = new (CocoDetection Box, CocoDetection Mask)[images][];
        Parallel.For(0, images, i =>
        {
            var rng = new Random(unchecked(seed * 1_000_003 + i));
            var id = (100000 + i).ToString(CultureInfo.InvariantCulture);
            var name = $"{100000 + i:D12}";
            var scene = Scene.Random(rng, width, height, things, stuff);
            var gtMap = new uint[width * height];
            var gtSegments = scene.Render(gtMap, width, height, withAreas: true);
            var predScene = scene.Perturb(rng, width, height, things);
            var predMap = new uint[width * height];
            var scores = new Dictionary<uint, double>();
            var predSegments = predScene.Render(predMap, width, height, withAreas: false, scores);
            // The same things as COCO instances (ground truth) and detections (one per predicted thing, box and mask files).
            var gtMasks = CocoRle.EncodeSegmentMap(gtMap, height, width);
            instances[i] = gtSegments.Where(s => thingSet.Contains(s.CategoryId)).Select((s, n) =>
            {
                var rle = gtMasks[s.Id];
                return new CocoInstanceAnnotation(i * 1000L + n + 1, id, s.CategoryId, s.IsCrowd, rle.Area, rle.ToBoundingBox(), CocoSegmentation.FromRle(rle));
            }).ToArray();
            var predMasks = CocoRle.EncodeSegmentMap(predMap, height, width);
            detections[i] = predSegments.Where(s => thingSet.Contains(s.CategoryId)).Select(s =>
            {
                var rle = predMasks[s.Id];
                return (new CocoDetection(id, s.CategoryId, scores[s.Id], rle.ToBoundingBox()),
                        new CocoDetection(id, s.CategoryId, scores[s.Id], null, CocoSegmentation.FromRle(rle)));
            }).ToArray();
            Png.WriteIds(Path.Combine(set.GtFolder, name + ".png"), gtMap, width, height);
            Png.WriteIds(Path.Combine(set.PredFolder, name + ".png"), predMap, width, height);
            gtImages[i] = new CocoImage(id, name + ".jpg", width, height);
            gtAnnotations[i] = new CocoPanopticAnnotation(id, name + ".png", gtSegments);
            predAnnotations[i] = new CocoPanopticAnnotation(id, name + ".png", predSegments);
        });
        new CocoPanopticDataset(gtImages, gtAnnotations, categories, set.GtJson).Save(set.GtJson);
        new CocoPanopticDataset([], predAnnotations, [], set.PredJson).Save(set.PredJson);
        var thingCategories = categories.Where(c => c.IsThing).Select(c => new CocoInstanceCategory(c.Id, c.Name, c.Supercategory)).ToArray();
        new CocoInstancesDataset(gtImages, instances.SelectMany(a => a).ToArray(), thingCategories, set.InstancesGtJson).Save(set.InstancesGtJson);
        CocoResultsFile.Save(set.DetectionsBboxJson, detections.SelectMany(d => d).Select(d => d.Box));
        CocoResultsFile.Save(set.DetectionsSegmJson, detections.SelectMany(d => d).Select(d => d.Mask));
        File.WriteAllText(marker, signature);
        return set;
    }

    /// <summary>One image's layout: stuff bands (top to bottom) and things drawn in order (later ones occlude earlier ones).</summary>
    private sealed record Scene(int[] StuffCategories, int[] StuffCuts, Thing[] Things, (int X, int Y, int W, int H)? Void)
    {
        public static Scene Random(Random rng, int width, int height, int[] things, int[] stuff)
        {
            var bands = rng.Next(2, 4);
            var cats = Enumerable.Range(0, bands).Select(_ => stuff[rng.Next(stuff.Length)]).ToArray();
            var cuts = Enumerable.Range(0, bands - 1).Select(_ => rng.Next(height / 6, height * 5 / 6)).Order().ToArray();
            var count = rng.Next(3, 8);
            var list = new Thing[count];
            for (var k = 0; k < count; k++)
            {
                var rx = rng.Next(8, width / 6);
                var ry = rng.Next(8, height / 5);
                list[k] = new Thing(things[rng.Next(things.Length)], rng.Next(width), rng.Next(height), rx, ry,
                    IsCrowd: rng.NextDouble() < 0.08, Score: Math.Round(rng.NextDouble(), 2));
            }
            (int, int, int, int)? voidRect = rng.NextDouble() < 0.7
                ? (rng.Next(width), rng.Next(height), rng.Next(4, 60), rng.Next(4, 60))
                : null;
            return new Scene(cats, cuts, list, voidRect);
        }

        public Scene Perturb(Random rng, int width, int height, int[] things)
        {
            var cuts = StuffCuts.Select(c => Math.Clamp(c + rng.Next(-12, 13), 1, height - 1)).Order().ToArray();
            var cats = StuffCategories.Select(c => rng.NextDouble() < 0.1 ? StuffCategories[rng.Next(StuffCategories.Length)] : c).ToArray();
            var list = new List<Thing>();
            foreach (var t in Things)
            {
                if (t.IsCrowd || rng.NextDouble() < 0.1) continue;
                var category = rng.NextDouble() < 0.1 ? things[rng.Next(things.Length)] : t.CategoryId;
                var scale = 0.8 + 0.4 * rng.NextDouble();
                list.Add(t with
                {
                    CategoryId = category,
                    Cx = t.Cx + rng.Next(-8, 9),
                    Cy = t.Cy + rng.Next(-8, 9),
                    Rx = Math.Max(3, (int)(t.Rx * scale)),
                    Ry = Math.Max(3, (int)(t.Ry * scale)),
                    IsCrowd = false,
                    Score = Math.Round(0.3 + 0.7 * rng.NextDouble(), 2),
                });
            }
            var spurious = rng.Next(1, 5);
            for (var k = 0; k < spurious; k++)
                list.Add(new Thing(things[rng.Next(things.Length)], rng.Next(width), rng.Next(height), rng.Next(5, 40), rng.Next(5, 40),
                    false, Math.Round(0.05 + 0.5 * rng.NextDouble(), 2)));
            return new Scene(cats, cuts, list.ToArray(), null);
        }

        /// <summary>Draws the scene and returns its segments (ids are pseudo-random 24-bit values, as COCO's colour ids).</summary>
        public CocoPanopticSegment[] Render(uint[] map, int width, int height, bool withAreas, Dictionary<uint, double>? scores = null)
        {
            var ids = new List<(uint Id, int Category, bool Crowd)>();
            var used = new HashSet<uint>();
            uint NewId(int category)
            {
                for (var salt = (long)used.Count; ; salt += 7919)
                {
                    var id = (uint)((category * 2654435761L + salt * 40503L + 12345) & 0xFFFFFF);
                    if (id != 0 && used.Add(id)) return id;
                }
            }

            // Stuff bands; the same category twice becomes one segment (one segment per stuff category).
            var stuffIds = new Dictionary<int, uint>();
            var bandIds = new uint[StuffCategories.Length];
            for (var b = 0; b < StuffCategories.Length; b++)
            {
                var c = StuffCategories[b];
                if (!stuffIds.TryGetValue(c, out var id))
                {
                    id = NewId(c);
                    stuffIds[c] = id;
                    ids.Add((id, c, false));
                }
                bandIds[b] = id;
            }
            for (var y = 0; y < height; y++)
            {
                var band = 0;
                while (band < StuffCuts.Length && y >= StuffCuts[band]) band++;
                map.AsSpan(y * width, width).Fill(bandIds[band]);
            }
            foreach (var t in Things)
            {
                var id = NewId(t.CategoryId);
                ids.Add((id, t.CategoryId, t.IsCrowd));
                scores?.Add(id, t.Score);
                var y0 = Math.Max(0, t.Cy - t.Ry);
                var y1 = Math.Min(height - 1, t.Cy + t.Ry);
                for (var y = y0; y <= y1; y++)
                {
                    var dy = (y - t.Cy) / (double)t.Ry;
                    var half = (int)(t.Rx * Math.Sqrt(Math.Max(0, 1 - dy * dy)));
                    var x0 = Math.Max(0, t.Cx - half);
                    var x1 = Math.Min(width - 1, t.Cx + half);
                    if (x1 >= x0) map.AsSpan(y * width + x0, x1 - x0 + 1).Fill(id);
                }
            }
            if (Void is { } v)
                for (var y = v.Y; y < Math.Min(height, v.Y + v.H); y++)
                    map.AsSpan(y * width + v.X, Math.Min(width, v.X + v.W) - v.X).Clear();

            var area = new Dictionary<uint, long>();
            foreach (var p in map) if (p != 0) area[p] = area.GetValueOrDefault(p) + 1;
            return ids.Where(s => area.ContainsKey(s.Id))
                .Select(s => new CocoPanopticSegment(s.Id, s.Category, s.Crowd, withAreas ? area[s.Id] : null))
                .ToArray();
        }
    }

    private sealed record Thing(int CategoryId, int Cx, int Cy, int Rx, int Ry, bool IsCrowd, double Score);
}
