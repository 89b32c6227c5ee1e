namespace Microsoft.ML.Mask2Former.Scoring;

/// <summary>
/// Reads label sets: the <c>--labels</c> JSON of <c>m2f segment</c>
/// (<c>{"labels": [{"id", "name", "isthing"}], "object_mask_threshold"?, "overlap_threshold"?}</c>,
/// entry i describing logit i) and the <c>m2f.labels</c> metadata of exported ONNX models.
/// </summary>
public static class Mask2FormerLabelSet
{
    /// <summary>The default labels of a model with <paramref name="count"/> classes: id = index + 1, name "class_{index}", every class a thing.</summary>
    public static IReadOnlyList<Mask2FormerLabel> Default(int count) =>
        Enumerable.Range(0, count).Select(i => new Mask2FormerLabel(i + 1, "class_" + i.ToString(CultureInfo.InvariantCulture), true)).ToArray();

    /// <summary>Parses a label file: either the object form above or a bare array of labels.</summary>
    /// <param name="json">The JSON text.</param>
    /// <param name="objectMaskThreshold">The file's <c>object_mask_threshold</c>, when present.</param>
    /// <param name="overlapThreshold">The file's <c>overlap_threshold</c>, when present.</param>
    /// <exception cref="FormatException">The JSON is not a label set; the message names the entry and field.</exception>
    public static IReadOnlyList<Mask2FormerLabel> Parse(string json, out double? objectMaskThreshold, out double? overlapThreshold)
    {
        objectMaskThreshold = null;
        overlapThreshold = null;
        JsonDocument doc;
        try { doc = JsonDocument.Parse(json); }
        catch (JsonException e) { throw new FormatException($"the label set is not valid JSON: {e.Message}", e); }
        using (doc)
        {
            var root = doc.RootElement;
            JsonElement array;
            if (root.ValueKind == JsonValueKind.Array) array = root;
            else if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("labels", out array) && array.ValueKind == JsonValueKind.Array)
            {
                objectMaskThreshold = OptionalNumber(root, "object_mask_threshold");
                overlapThreshold = OptionalNumber(root, "overlap_threshold");
            }
            else throw new FormatException("the label set must be an object with a \"labels\" array (or a bare array of labels)");

            var labels = new List<Mask2FormerLabel>();
            var index = 0;
            foreach (var e in array.EnumerateArray())
            {
                if (e.ValueKind != JsonValueKind.Object) throw new FormatException($"label {index} is not an object");
                var id = e.TryGetProperty("id", out var idValue) && idValue.ValueKind == JsonValueKind.Number && idValue.TryGetInt32(out var i)
                    ? i : throw new FormatException($"label {index} has no integer \"id\"");
                var name = e.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString()! : "class_" + index.ToString(CultureInfo.InvariantCulture);
                var isThing = true;
                if (e.TryGetProperty("isthing", out var t))
                {
                    isThing = t.ValueKind switch
                    {
                        JsonValueKind.True => true,
                        JsonValueKind.False => false,
                        JsonValueKind.Number when t.TryGetInt32(out var v) && v is 0 or 1 => v == 1,
                        _ => throw new FormatException($"label {index} (id {id}): \"isthing\" must be 0 or 1"),
                    };
                }
                labels.Add(new Mask2FormerLabel(id, name, isThing));
                index++;
            }
            if (labels.Count == 0) throw new FormatException("the label set is empty");
            var duplicate = labels.GroupBy(l => l.Id).FirstOrDefault(g => g.Count() > 1);
            if (duplicate is not null) throw new FormatException($"category id {duplicate.Key} appears {duplicate.Count()} times in the label set");
            return labels;
        }
    }

    /// <summary>Reads a label file (see <see cref="Parse"/>).</summary>
    public static IReadOnlyList<Mask2FormerLabel> Load(string path, out double? objectMaskThreshold, out double? overlapThreshold)
    {
        InputFile.RequireRegular(path, "label file");
        try { return Parse(File.ReadAllText(path), out objectMaskThreshold, out overlapThreshold); }
        catch (FormatException e) { throw new FormatException($"'{path}': {e.Message}", e); }
    }

    private static double? OptionalNumber(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind != JsonValueKind.Number) throw new FormatException($"\"{name}\" must be a number");
        var value = v.GetDouble();
        // Both thresholds compare probabilities or area ratios: a value outside [0, 1] keeps everything or nothing.
        if (!(value is >= 0 and <= 1)) throw new FormatException($"\"{name}\" must be in [0, 1], got {v.GetRawText()}");
        return value;
    }
}
