using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.ML.Mask2Former.Evaluation;
using Microsoft.ML.Mask2Former.Formats;

namespace Mask2Former.Cli.Sharding;

/// <summary>
/// What one run of <c>m2f test</c> (a shard, or the whole data set) evaluated, in mergeable form:
/// the evaluators' accumulators (PQ, box and mask AP, mIoU), the categories they are computed over,
/// and what the run belongs to (model, ground truth, shard), so that <c>m2f merge</c> can refuse
/// parts of different runs. Written as <c>evaluation.json</c> beside the shard's predictions.
/// </summary>
/// <remarks>
/// PQ is kept per image: a category's IoU sum is a floating-point sum, and only adding the images
/// in one order (COCO's image-id order) makes the merged shards' sums equal, bit for bit, to one
/// process's. The other accumulators are exact under any grouping (counts; per-image evaluations).
/// </remarks>
internal sealed class EvaluationState
{
    public const string FileName = "evaluation.json";
    private const string Format = "m2f-test-evaluation";
    private const int Version = 1;

    public required ShardSpec Shard { get; init; }
    public required string Model { get; init; }
    public required string GroundTruth { get; init; }
    public required IReadOnlyList<string> Metrics { get; init; }
    public required IReadOnlyList<CocoPanopticCategory> Categories { get; init; }
    public required int ImageCount { get; init; }
    /// <summary>Per image, its panoptic counts (null when PQ is not evaluated).</summary>
    public IReadOnlyDictionary<string, PanopticQualityAccumulator>? PanopticImages { get; init; }
    public InstanceEvaluationAccumulator? Boxes { get; init; }
    public InstanceEvaluationAccumulator? Masks { get; init; }
    public SemanticSegmentationAccumulator? Semantic { get; init; }

    /// <summary>A short fingerprint of files (SHA-256 of their bytes, in order): what a run read.</summary>
    public static string Fingerprint(IEnumerable<string> files)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var file in files)
        {
            using var stream = File.OpenRead(file);
            var buffer = new byte[1 << 16];
            int read;
            while ((read = stream.Read(buffer)) > 0) hash.AppendData(buffer, 0, read);
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset())[..16];
    }

    public void Write(string path) => JsonOutput.Write(path, w =>
    {
        w.WriteString("format", Format);
        w.WriteNumber("version", Version);
        w.WriteStartObject("shard");
        w.WriteNumber("index", Shard.Index);
        w.WriteNumber("count", Shard.Count);
        w.WriteEndObject();
        w.WriteString("model", Model);
        w.WriteString("ground_truth", GroundTruth);
        w.WriteStartArray("metrics");
        foreach (var m in Metrics) w.WriteStringValue(m);
        w.WriteEndArray();
        w.WriteNumber("images", ImageCount);
        w.WriteStartArray("categories");
        foreach (var c in Categories)
        {
            w.WriteStartObject();
            w.WriteNumber("id", c.Id);
            w.WriteString("name", c.Name);
            w.WriteNumber("isthing", c.IsThing ? 1 : 0);
            w.WriteString("supercategory", c.Supercategory);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        if (PanopticImages is { } images)
        {
            w.WriteStartObject("pq");
            foreach (var id in CocoIds.Sorted(images.Keys))
            {
                w.WritePropertyName(id);
                w.WriteRawValue(images[id].ToJson());
            }
            w.WriteEndObject();
        }
        Raw(w, "bbox", Boxes?.ToJson());
        Raw(w, "segm", Masks?.ToJson());
        Raw(w, "miou", Semantic?.ToJson());
    });

    private static void Raw(Utf8JsonWriter w, string name, string? json)
    {
        if (json is null) return;
        w.WritePropertyName(name);
        w.WriteRawValue(json);
    }

    /// <exception cref="DataFormatException">The file is not such a state; the message names the file and item.</exception>
    public static EvaluationState Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"no {FileName} in '{Path.GetDirectoryName(path)}' (not an m2f test output folder?)", path);
        JsonDocument doc;
        try { doc = JsonDocument.Parse(File.ReadAllText(path)); }
        catch (JsonException e) { throw new DataFormatException($"malformed JSON: {e.Message}", path, inner: e); }
        using (doc)
        {
            try
            {
                return Parse(doc.RootElement, path);
            }
            catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException or FormatException and not DataFormatException)
            {
                throw new DataFormatException($"not a complete m2f test evaluation: {e.Message}", path, inner: e);
            }
        }
    }

    private static EvaluationState Parse(JsonElement root, string path)
    {
        {
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("format", out var format) || format.ValueKind != JsonValueKind.String || format.GetString() != Format)
                throw new DataFormatException($"not an m2f test evaluation (no \"format\": \"{Format}\")", path);
            if (!root.TryGetProperty("version", out var version) || version.ValueKind != JsonValueKind.Number || version.GetInt32() != Version)
                throw new DataFormatException($"written by another version of m2f (this one reads version {Version})", path);
            var shard = root.GetProperty("shard");
            return new EvaluationState
            {
                Shard = new ShardSpec(shard.GetProperty("index").GetInt32(), shard.GetProperty("count").GetInt32()),
                Model = root.GetProperty("model").GetString()!,
                GroundTruth = root.GetProperty("ground_truth").GetString()!,
                Metrics = root.GetProperty("metrics").EnumerateArray().Select(m => m.GetString()!).ToArray(),
                ImageCount = root.GetProperty("images").GetInt32(),
                Categories = root.GetProperty("categories").EnumerateArray().Select(c => new CocoPanopticCategory(
                    c.GetProperty("id").GetInt32(), c.GetProperty("name").GetString()!, c.GetProperty("isthing").GetInt32() != 0,
                    c.GetProperty("supercategory").GetString() ?? "")).ToArray(),
                PanopticImages = root.TryGetProperty("pq", out var pq)
                    ? pq.EnumerateObject().ToDictionary(p => p.Name, p => PanopticQualityAccumulator.FromJson(p.Value.GetRawText(), path), StringComparer.Ordinal)
                    : null,
                Boxes = root.TryGetProperty("bbox", out var bbox) ? InstanceEvaluationAccumulator.FromJson(bbox.GetRawText(), path) : null,
                Masks = root.TryGetProperty("segm", out var segm) ? InstanceEvaluationAccumulator.FromJson(segm.GetRawText(), path) : null,
                Semantic = root.TryGetProperty("miou", out var miou) ? SemanticSegmentationAccumulator.FromJson(miou.GetRawText(), path) : null,
            };
        }
    }

    /// <summary>The panoptic counts of all images, added in image-id order.</summary>
    public PanopticQualityAccumulator? Panoptic()
    {
        if (PanopticImages is not { } images) return null;
        var total = new PanopticQualityAccumulator();
        foreach (var id in CocoIds.Sorted(images.Keys)) total.Add(images[id]);
        return total;
    }

    /// <summary>The metrics of the evaluated images.</summary>
    public TestMetrics ComputeMetrics()
    {
        var instanceCategories = Categories.Select(c => new CocoInstanceCategory(c.Id, c.Name, c.Supercategory)).ToArray();
        return new TestMetrics(
            Panoptic()?.ComputeMetrics(Categories),
            Boxes?.ComputeMetrics(instanceCategories),
            Masks?.ComputeMetrics(instanceCategories),
            Semantic?.ComputeMetrics(Categories.Select(c => c.Name).ToArray()));
    }
}
