namespace Microsoft.ML.Mask2Former.Formats;

/// <summary>
/// COCO results files: a JSON array of detections <c>{"image_id", "category_id", "score",
/// "bbox"?, "segmentation"?}</c>, the format every COCO detector writes and pycocotools' <c>loadRes</c> reads.
/// </summary>
public static class CocoResultsFile
{
    /// <summary>Reads a results file. Every entry needs <c>image_id</c>, <c>category_id</c>, a finite <c>score</c>, and a <c>bbox</c> or a <c>segmentation</c>.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="DataFormatException">The JSON is malformed, is not an array, or an entry is invalid (the message names the entry).</exception>
    public static IReadOnlyList<CocoDetection> Load(string path)
    {
        using var doc = JsonFields.ParseFile(path);
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Array)
            throw new DataFormatException($"a COCO results file is a JSON array of detections, found {root.ValueKind}", path);
        var detections = new List<CocoDetection>(root.GetArrayLength());
        var i = 0;
        foreach (var d in root.EnumerateArray())
        {
            var f = JsonFields.At(path, "results", i);
            var imageId = f.Id(d, "image_id");
            f = f.Of(imageId);
            var category = f.Int32(d, "category_id");
            var score = f.Number(f.Required(d, "score", JsonValueKind.Number), "score");
            IReadOnlyList<double>? box = null;
            if (f.TryOptional(d, "bbox", JsonValueKind.Array, out var bb))
            {
                box = bb.EnumerateArray().Select(v => f.Number(v, "bbox")).ToArray();
                if (box.Count is not (0 or 4)) throw f.Error($"bbox has {box.Count} numbers, expected [x, y, width, height]");
            }
            CocoSegmentation? segmentation = null;
            if (d.TryGetProperty("segmentation", out var seg) && seg.ValueKind != JsonValueKind.Null) segmentation = CocoSegmentation.Parse(seg, f);
            if (box is not { Count: 4 } && segmentation is null) throw f.Error("a detection needs a 'bbox' or a 'segmentation'");
            detections.Add(new CocoDetection(imageId, category, score, box, segmentation));
            i++;
        }
        return detections;
    }

    /// <summary>Writes detections as a COCO results file, atomically (masks as compressed RLE).</summary>
    public static void Save(string path, IEnumerable<CocoDetection> detections)
    {
        ArgumentNullException.ThrowIfNull(detections);
        AtomicFile.Write(path, stream =>
        {
            using var w = new Utf8JsonWriter(stream);
            w.WriteStartArray();
            foreach (var d in detections)
            {
                w.WriteStartObject();
                CocoIds.Write(w, "image_id", d.ImageId);
                w.WriteNumber("category_id", d.CategoryId);
                CocoJsonWriter.WriteNumbers(w, "bbox", d.BoundingBox);
                if (d.Segmentation is { } s)
                {
                    w.WritePropertyName("segmentation");
                    s.WriteJson(w);
                }
                w.WriteNumber("score", d.Score);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        });
    }
}
