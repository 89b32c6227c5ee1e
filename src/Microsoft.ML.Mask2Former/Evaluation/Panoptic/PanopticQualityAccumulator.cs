using System.Runtime.InteropServices;

namespace Microsoft.ML.Mask2Former.Evaluation;

/// <summary>
/// The mergeable state of a panoptic evaluation: per-category tp / fp / fn / IoU sum, like
/// panopticapi's <c>PQStat</c>. Shards evaluated separately (other threads, processes or
/// machines) merge with <see cref="Add(PanopticQualityAccumulator)"/>; the JSON form
/// (<see cref="ToJson"/> / <see cref="FromJson"/>) round-trips every number exactly.
/// </summary>
public sealed class PanopticQualityAccumulator
{
    private readonly Dictionary<int, PanopticCounts> _perCategory = new();

    /// <summary>The number of images added so far.</summary>
    public long ImageCount { get; private set; }

    /// <summary>Counts per category id (categories never counted are absent, which means all zero).</summary>
    public IReadOnlyDictionary<int, PanopticCounts> PerCategory => _perCategory;

    /// <summary>The counts of one category (zero if it never occurred).</summary>
    public PanopticCounts this[int categoryId] => _perCategory.GetValueOrDefault(categoryId);

    /// <summary>Adds the counts of one image.</summary>
    public void Add(PanopticImageStatistics image)
    {
        ArgumentNullException.ThrowIfNull(image);
        foreach (var (category, counts) in image.PerCategory) Add(category, counts);
        ImageCount++;
    }

    /// <summary>Adds (merges) another accumulator into this one.</summary>
    public void Add(PanopticQualityAccumulator other)
    {
        ArgumentNullException.ThrowIfNull(other);
        foreach (var (category, counts) in other._perCategory) Add(category, counts);
        ImageCount += other.ImageCount;
    }

    private void Add(int category, PanopticCounts counts)
    {
        ref var slot = ref CollectionsMarshal.GetValueRefOrAddDefault(_perCategory, category, out _);
        slot += counts;
    }

    /// <summary>Computes PQ / SQ / RQ (all, things, stuff, per class) over the given categories, as panopticapi's <c>pq_average</c>.</summary>
    public PanopticSegmentationMetrics ComputeMetrics(IReadOnlyList<CocoPanopticCategory> categories) =>
        PanopticSegmentationMetrics.Compute(this, categories);

    /// <summary>Serialises the accumulator: <c>{"images": N, "per_category": {"id": {"tp", "fp", "fn", "iou"}}}</c>.</summary>
    public string ToJson()
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteNumber("images", ImageCount);
            w.WriteStartObject("per_category");
            foreach (var (category, c) in _perCategory.OrderBy(kv => kv.Key))
            {
                w.WriteStartObject(category.ToString(CultureInfo.InvariantCulture));
                w.WriteNumber("tp", c.TruePositives);
                w.WriteNumber("fp", c.FalsePositives);
                w.WriteNumber("fn", c.FalseNegatives);
                w.WriteNumber("iou", c.IouSum);
                w.WriteEndObject();
            }
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>Reads the form written by <see cref="ToJson"/>.</summary>
    /// <param name="json">The JSON text.</param>
    /// <param name="source">A name for error messages (for example the shard's file path).</param>
    public static PanopticQualityAccumulator FromJson(string json, string source = "<json>")
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(json); }
        catch (JsonException e) { throw new DataFormatException($"malformed accumulator JSON: {e.Message}", source, inner: e); }
        using (doc)
        {
            var f = new JsonFields(source, "accumulator");
            var result = new PanopticQualityAccumulator { ImageCount = f.Integer(doc.RootElement, "images") };
            foreach (var p in f.Required(doc.RootElement, "per_category", JsonValueKind.Object).EnumerateObject())
            {
                if (!int.TryParse(p.Name, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var category))
                    throw f.Error($"category key '{p.Name}' is not an integer");
                var cf = new JsonFields(source, $"per_category[{p.Name}]");
                var counts = new PanopticCounts(cf.Integer(p.Value, "tp"), cf.Integer(p.Value, "fp"), cf.Integer(p.Value, "fn"),
                    cf.Number(cf.Required(p.Value, "iou", JsonValueKind.Number), "iou"));
                if (counts.TruePositives < 0 || counts.FalsePositives < 0 || counts.FalseNegatives < 0 || counts.IouSum < 0)
                    throw cf.Error("negative count");
                result.Add(category, counts);
            }
            return result;
        }
    }
}
