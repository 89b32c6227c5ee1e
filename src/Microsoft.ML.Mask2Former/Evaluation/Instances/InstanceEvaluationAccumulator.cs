namespace Microsoft.ML.Mask2Former.Evaluation;

/// <summary>
/// The mergeable state of a COCO instance evaluation: per image and category, what COCOeval's
/// <c>evaluateImg</c> found (the ranked scores and, per IoU threshold and area range, which
/// detections matched and which are ignored), plus the object counts. Shards evaluated apart
/// (processes, machines) merge with <see cref="Add(InstanceEvaluationAccumulator)"/>, and
/// <see cref="ComputeMetrics"/> then runs <c>accumulate</c> and <c>summarize</c> over the images in
/// COCO's order, so the merged numbers are exactly those of one evaluation of all images.
/// <see cref="ToJson"/> / <see cref="FromJson"/> round-trip every number exactly.
/// </summary>
public sealed class InstanceEvaluationAccumulator
{
    private readonly Dictionary<string, List<(int CategoryId, InstanceImageEvaluation Evaluation)>> _images = new(StringComparer.Ordinal);
    private readonly Dictionary<int, int> _groundTruthCounts = [];
    private readonly Dictionary<int, int> _detectionCounts = [];

    internal InstanceEvaluationAccumulator(InstanceIouType iouType) => IouType = iouType;

    /// <summary>Boxes or masks.</summary>
    public InstanceIouType IouType { get; }

    /// <summary>The images evaluated (with or without objects).</summary>
    public int ImageCount => _images.Count;

    /// <summary>The detections evaluated.</summary>
    public long DetectionCount { get; private set; }

    internal void AddImage(string imageId, IEnumerable<(int CategoryId, InstanceImageEvaluation Evaluation)> evaluations)
    {
        if (!_images.TryAdd(imageId, [.. evaluations]))
            throw new DataFormatException("the image is evaluated twice (in two shards?)", imageId: imageId);
    }

    internal void Count(int categoryId, int groundTruth, int detections)
    {
        if (groundTruth != 0) _groundTruthCounts[categoryId] = _groundTruthCounts.GetValueOrDefault(categoryId) + groundTruth;
        if (detections != 0) _detectionCounts[categoryId] = _detectionCounts.GetValueOrDefault(categoryId) + detections;
        DetectionCount += detections;
    }

    /// <summary>Adds (merges) another shard's evaluation; the two must have evaluated different images.</summary>
    /// <exception cref="ArgumentException">The IoU types differ.</exception>
    /// <exception cref="DataFormatException">An image is in both.</exception>
    public void Add(InstanceEvaluationAccumulator other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (other.IouType != IouType) throw new ArgumentException($"cannot merge a {other.IouType} evaluation into a {IouType} one", nameof(other));
        foreach (var id in other._images.Keys)
            if (_images.ContainsKey(id)) throw new DataFormatException("the image is evaluated in both accumulators (overlapping shards?)", imageId: id);
        foreach (var (id, list) in other._images) _images.Add(id, list);
        foreach (var (k, n) in other._groundTruthCounts) _groundTruthCounts[k] = _groundTruthCounts.GetValueOrDefault(k) + n;
        foreach (var (k, n) in other._detectionCounts) _detectionCounts[k] = _detectionCounts.GetValueOrDefault(k) + n;
        DetectionCount += other.DetectionCount;
    }

    /// <summary>COCOeval's <c>accumulate</c> and <c>summarize</c> over the categories (COCO orders them by id).</summary>
    /// <param name="categories">The ground truth's categories.</param>
    /// <param name="threads">Categories accumulated in parallel (the numbers do not depend on it).</param>
    /// <exception cref="DataFormatException">An evaluation names a category outside <paramref name="categories"/>.</exception>
    public InstanceSegmentationMetrics ComputeMetrics(IReadOnlyList<CocoInstanceCategory> categories, int threads = 0)
    {
        ArgumentNullException.ThrowIfNull(categories);
        var sorted = categories.OrderBy(c => c.Id).ToArray();
        var index = new Dictionary<int, int>(sorted.Length);
        for (var k = 0; k < sorted.Length; k++)
            if (!index.TryAdd(sorted[k].Id, k)) throw new ArgumentException($"category id {sorted[k].Id} appears twice", nameof(categories));
        int Index(int categoryId, string? imageId) => index.TryGetValue(categoryId, out var k) ? k
            : throw new DataFormatException($"category {categoryId} is not among the {sorted.Length} categories given", imageId: imageId);

        var perCategory = new List<InstanceImageEvaluation>[sorted.Length];
        for (var k = 0; k < sorted.Length; k++) perCategory[k] = [];
        foreach (var imageId in CocoIds.Sorted(_images.Keys))
            foreach (var (categoryId, evaluation) in _images[imageId]) perCategory[Index(categoryId, imageId)].Add(evaluation);
        var gtCounts = new int[sorted.Length];
        var dtCounts = new int[sorted.Length];
        foreach (var (id, n) in _groundTruthCounts) gtCounts[Index(id, null)] += n;
        foreach (var (id, n) in _detectionCounts) dtCounts[Index(id, null)] += n;

        var accumulation = new InstanceAccumulation(sorted.Length);
        Parallel.For(0, sorted.Length, new ParallelOptions { MaxDegreeOfParallelism = threads > 0 ? threads : Environment.ProcessorCount },
            k => accumulation.AddCategory(k, perCategory[k]));
        return new InstanceSegmentationMetrics(IouType, accumulation, sorted, gtCounts, dtCounts, _images.Count, checked((int)DetectionCount));
    }

    /// <summary>
    /// Serialises the accumulator: <c>{"iou_type", "detections", "ground_truth_counts": {id: n},
    /// "detection_counts": {id: n}, "images": [{"id", "evaluations": [{"category", "scores",
    /// "matched": [[…] per area range], "ignored": […], "counted_ground_truth": […]}]}]}</c>, where
    /// matched / ignored hold one bit per IoU threshold for each ranked detection.
    /// </summary>
    public string ToJson()
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("iou_type", IouType == InstanceIouType.BoundingBox ? "bbox" : "segm");
            w.WriteNumber("detections", DetectionCount);
            WriteCounts(w, "ground_truth_counts", _groundTruthCounts);
            WriteCounts(w, "detection_counts", _detectionCounts);
            w.WriteStartArray("images");
            foreach (var imageId in CocoIds.Sorted(_images.Keys))
            {
                w.WriteStartObject();
                w.WriteString("id", imageId);
                w.WriteStartArray("evaluations");
                foreach (var (categoryId, e) in _images[imageId])
                {
                    w.WriteStartObject();
                    w.WriteNumber("category", categoryId);
                    w.WriteStartArray("scores");
                    foreach (var s in e.Scores) w.WriteNumberValue(s);
                    w.WriteEndArray();
                    WriteFlags(w, "matched", e.Matched);
                    WriteFlags(w, "ignored", e.Ignored);
                    w.WriteStartArray("counted_ground_truth");
                    foreach (var n in e.NonIgnoredGroundTruth) w.WriteNumberValue(n);
                    w.WriteEndArray();
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static void WriteCounts(Utf8JsonWriter w, string name, Dictionary<int, int> counts)
    {
        w.WriteStartObject(name);
        foreach (var (id, n) in counts.OrderBy(kv => kv.Key)) w.WriteNumber(id.ToString(CultureInfo.InvariantCulture), n);
        w.WriteEndObject();
    }

    private static void WriteFlags(Utf8JsonWriter w, string name, ushort[][] flags)
    {
        w.WriteStartArray(name);
        foreach (var range in flags)
        {
            w.WriteStartArray();
            foreach (var f in range) w.WriteNumberValue(f);
            w.WriteEndArray();
        }
        w.WriteEndArray();
    }

    /// <summary>Reads the form written by <see cref="ToJson"/>.</summary>
    /// <param name="json">The JSON text.</param>
    /// <param name="source">A name for error messages (for example the shard's file path).</param>
    /// <exception cref="DataFormatException">The text is not such an accumulator; the message names the item.</exception>
    public static InstanceEvaluationAccumulator FromJson(string json, string source = "<json>")
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(json); }
        catch (JsonException e) { throw new DataFormatException($"malformed accumulator JSON: {e.Message}", source, inner: e); }
        using (doc)
        {
            var root = doc.RootElement;
            var f = new JsonFields(source, "instance accumulator");
            var type = f.String(root, "iou_type") switch
            {
                "bbox" => InstanceIouType.BoundingBox,
                "segm" => InstanceIouType.Segmentation,
                var t => throw f.Error($"iou_type '{t}' is neither bbox nor segm"),
            };
            var result = new InstanceEvaluationAccumulator(type);
            var detections = f.Integer(root, "detections");
            ReadCounts(f, root, "ground_truth_counts", (id, n) => result.Count(id, n, 0));
            ReadCounts(f, root, "detection_counts", (id, n) => result.Count(id, 0, n));
            if (result.DetectionCount != detections) throw f.Error($"detections = {detections} but the per-category counts add up to {result.DetectionCount}");
            var areas = CocoEvalParameters.AreaRanges.Length;
            foreach (var image in f.Required(root, "images", JsonValueKind.Array).EnumerateArray())
            {
                var imageId = f.Id(image, "id");
                var fi = new JsonFields(source, "instance accumulator", imageId);
                var list = new List<(int, InstanceImageEvaluation)>();
                foreach (var e in fi.Required(image, "evaluations", JsonValueKind.Array).EnumerateArray())
                {
                    var scores = fi.Required(e, "scores", JsonValueKind.Array).EnumerateArray().Select(s => fi.Number(s, "scores")).ToArray();
                    var matched = Flags(fi, e, "matched", areas, scores.Length);
                    var ignored = Flags(fi, e, "ignored", areas, scores.Length);
                    var counted = fi.Required(e, "counted_ground_truth", JsonValueKind.Array).EnumerateArray().Select(v => (int)fi.AsInteger(v, "counted_ground_truth")).ToArray();
                    if (counted.Length != areas || counted.Any(n => n < 0)) throw fi.Error($"counted_ground_truth must hold {areas} non-negative counts");
                    list.Add((fi.Int32(e, "category"), InstanceImageEvaluation.FromParts(scores, matched, ignored, counted)));
                }
                result.AddImage(imageId, list);
            }
            return result;
        }
    }

    private static void ReadCounts(JsonFields f, JsonElement root, string name, Action<int, int> add)
    {
        foreach (var p in f.Required(root, name, JsonValueKind.Object).EnumerateObject())
        {
            if (!int.TryParse(p.Name, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var id)) throw f.Error($"{name}: key '{p.Name}' is not a category id");
            var n = f.AsInteger(p.Value, name);
            if (n < 0 || n > int.MaxValue) throw f.Error($"{name}[{p.Name}] = {n} is not a count");
            add(id, (int)n);
        }
    }

    private static ushort[][] Flags(JsonFields f, JsonElement e, string name, int areas, int detections)
    {
        var ranges = f.Required(e, name, JsonValueKind.Array).EnumerateArray().ToArray();
        if (ranges.Length != areas) throw f.Error($"{name} must hold {areas} area ranges, found {ranges.Length}");
        return ranges.Select(r =>
        {
            if (r.ValueKind != JsonValueKind.Array || r.GetArrayLength() != detections) throw f.Error($"{name} must hold one flag set per detection ({detections})");
            return r.EnumerateArray().Select(v =>
            {
                var x = f.AsInteger(v, name);
                return x is >= 0 and <= ushort.MaxValue ? (ushort)x : throw f.Error($"{name} flag {x} is out of range");
            }).ToArray();
        }).ToArray();
    }
}
