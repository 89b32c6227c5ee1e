namespace Microsoft.ML.Mask2Former.Formats;

/// <summary>
/// A COCO panoptic JSON file (ground truth or predictions): images, annotations (one segment-map
/// PNG per image with its <c>segments_info</c>) and categories, validated on load.
/// </summary>
/// <remarks>
/// Validation refuses what would otherwise give silently wrong numbers: duplicate image,
/// category or segment ids, segment id 0 (void) or above 0xFFFFFF (not encodable in RGB),
/// segments whose category is not in the file's own category list (when it has one), and every
/// missing or mistyped field. Each error names the file, the image id and the segment id.
/// </remarks>
public sealed class CocoPanopticDataset
{
    private readonly Dictionary<string, CocoPanopticAnnotation> _byImage;

    /// <summary>Creates a data set from parts already in memory (validated the same way as a file).</summary>
    /// <param name="images">The <c>images</c> list (may be empty for prediction files).</param>
    /// <param name="annotations">One annotation per image.</param>
    /// <param name="categories">The <c>categories</c> list (may be empty for prediction files).</param>
    /// <param name="source">A name used in error messages (a file path, or a description).</param>
    public CocoPanopticDataset(IReadOnlyList<CocoImage> images, IReadOnlyList<CocoPanopticAnnotation> annotations,
        IReadOnlyList<CocoPanopticCategory> categories, string source = "<memory>")
    {
        Images = images;
        Annotations = annotations;
        Categories = categories;
        Source = source;
        _byImage = new Dictionary<string, CocoPanopticAnnotation>(annotations.Count, StringComparer.Ordinal);
        Validate();
    }

    /// <summary>The <c>images</c> list, in file order.</summary>
    public IReadOnlyList<CocoImage> Images { get; }

    /// <summary>The <c>annotations</c> list, in file order.</summary>
    public IReadOnlyList<CocoPanopticAnnotation> Annotations { get; }

    /// <summary>The <c>categories</c> list, in file order (the order PQ averages and tables use).</summary>
    public IReadOnlyList<CocoPanopticCategory> Categories { get; }

    /// <summary>The file the data set was read from, or the name given in memory.</summary>
    public string Source { get; }

    /// <summary>Finds the annotation of an image.</summary>
    public bool TryGetAnnotation(string imageId, out CocoPanopticAnnotation annotation) =>
        _byImage.TryGetValue(imageId, out annotation!);

    /// <summary>Reads and validates a COCO panoptic JSON file.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="DataFormatException">The JSON is malformed or violates the format.</exception>
    public static CocoPanopticDataset Load(string path)
    {
        using var doc = JsonFields.ParseFile(path);
        var root = doc.RootElement;
        var top = new JsonFields(path, "top level");
        if (root.ValueKind != JsonValueKind.Object) throw top.Error($"expected a JSON object, found {root.ValueKind}");

        var categories = new List<CocoPanopticCategory>();
        if (top.TryOptional(root, "categories", JsonValueKind.Array, out var cats))
        {
            var i = 0;
            foreach (var c in cats.EnumerateArray())
            {
                var f = JsonFields.At(path, "categories", i++);
                var id = f.Int32(c, "id");
                var name = f.TryOptional(c, "name", JsonValueKind.String, out var n) ? n.GetString()! : id.ToString(System.Globalization.CultureInfo.InvariantCulture);
                var super = f.TryOptional(c, "supercategory", JsonValueKind.String, out var s) ? s.GetString()! : "";
                IReadOnlyList<int>? color = null;
                if (f.TryOptional(c, "color", JsonValueKind.Array, out var col))
                    color = col.EnumerateArray().Select(v => (int)f.AsInteger(v, "color")).ToArray();
                categories.Add(new CocoPanopticCategory(id, name, f.Flag(c, "isthing"), super, color));
            }
        }

        var images = new List<CocoImage>();
        if (top.TryOptional(root, "images", JsonValueKind.Array, out var imgs))
        {
            var i = 0;
            foreach (var im in imgs.EnumerateArray())
            {
                var f = JsonFields.At(path, "images", i++);
                var id = f.Id(im, "id");
                f = f.Of(id);
                images.Add(new CocoImage(id, f.RelativeFileName(im, "file_name"), f.Int32(im, "width", 1), f.Int32(im, "height", 1)));
            }
        }

        var annotations = new List<CocoPanopticAnnotation>();
        var anns = top.Required(root, "annotations", JsonValueKind.Array);
        var k = 0;
        foreach (var a in anns.EnumerateArray())
        {
            var f = JsonFields.At(path, "annotations", k);
            var imageId = f.Id(a, "image_id");
            f = f.Of(imageId);
            var fileName = f.RelativeFileName(a, "file_name");
            var infos = f.Required(a, "segments_info", JsonValueKind.Array);
            var segments = new List<CocoPanopticSegment>(infos.GetArrayLength());
            var j = 0;
            foreach (var s in infos.EnumerateArray())
            {
                var sf = f.Within("segments_info", j);
                var id = sf.Integer(s, "id");
                sf = f.Within("segments_info", j, id);
                if (id <= 0 || id > 0xFFFFFF)
                    throw sf.Error($"segment id {id} is outside 1..16777215 (0 is void; larger ids cannot be encoded as R + 256·G + 256²·B)");
                long? area = null;
                if (sf.TryOptional(s, "area", JsonValueKind.Number, out var ar))
                {
                    var av = sf.AsInteger(ar, "area");
                    if (av < 0) throw sf.Error($"negative area {av}");
                    area = av;
                }
                IReadOnlyList<double>? bbox = null;
                if (sf.TryOptional(s, "bbox", JsonValueKind.Array, out var bb))
                    bbox = bb.EnumerateArray().Select(v => sf.Number(v, "bbox")).ToArray();
                segments.Add(new CocoPanopticSegment((uint)id, sf.Int32(s, "category_id"), sf.Flag(s, "iscrowd"), area, bbox));
                j++;
            }
            annotations.Add(new CocoPanopticAnnotation(imageId, fileName, segments));
            k++;
        }
        return new CocoPanopticDataset(images, annotations, categories, path);
    }

    /// <summary>Writes the data set as COCO panoptic JSON, atomically (a temporary file renamed over the target).</summary>
    public void Save(string path)
    {
        CocoJsonWriter.SaveDataset(path, Images, Annotations, static (w, a) =>
        {
            CocoIds.Write(w, "image_id", a.ImageId);
            w.WriteString("file_name", a.FileName);
            w.WriteStartArray("segments_info");
            foreach (var s in a.Segments)
            {
                w.WriteStartObject();
                w.WriteNumber("id", s.Id);
                w.WriteNumber("category_id", s.CategoryId);
                w.WriteNumber("iscrowd", s.IsCrowd ? 1 : 0);
                if (s.Area is { } area) w.WriteNumber("area", area);
                CocoJsonWriter.WriteNumbers(w, "bbox", s.BoundingBox);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }, Categories, static (w, c) =>
        {
            CocoJsonWriter.WriteCategoryFields(w, c.Id, c.Name, c.Supercategory);
            w.WriteNumber("isthing", c.IsThing ? 1 : 0);
            CocoJsonWriter.WriteNumbers(w, "color", c.Color);
        });
    }

    private void Validate()
    {
        var categoryIds = new HashSet<int>();
        foreach (var c in Categories)
            if (!categoryIds.Add(c.Id)) throw new DataFormatException($"duplicate category id {c.Id}", Source);
        var imageIds = new HashSet<string>(StringComparer.Ordinal);
        foreach (var im in Images)
            if (!imageIds.Add(im.Id)) throw new DataFormatException("duplicate image id in 'images'", Source, im.Id);

        var segmentIds = new HashSet<uint>();
        foreach (var a in Annotations)
        {
            if (!_byImage.TryAdd(a.ImageId, a))
                throw new DataFormatException("two annotations for the same image", Source, a.ImageId);
            segmentIds.Clear();
            foreach (var s in a.Segments)
            {
                if (s.Id == 0 || s.Id > 0xFFFFFF)
                    throw new DataFormatException($"segment id {s.Id} is outside 1..16777215", Source, a.ImageId, s.Id);
                if (!segmentIds.Add(s.Id))
                    throw new DataFormatException("duplicate segment id in segments_info", Source, a.ImageId, s.Id);
                if (categoryIds.Count > 0 && !categoryIds.Contains(s.CategoryId))
                    throw new DataFormatException($"unknown category_id {s.CategoryId} (not in this file's categories)", Source, a.ImageId, s.Id);
            }
        }
    }
}
