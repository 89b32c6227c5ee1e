namespace Microsoft.ML.Mask2Former.Formats;

/// <summary>
/// A COCO instance ground-truth file (<c>instances_*.json</c>): images, annotations with boxes
/// and polygon or RLE masks, and categories, validated on load.
/// </summary>
/// <remarks>
/// Validation refuses what pycocotools would turn into a crash or a silently wrong number:
/// duplicate image, category or annotation ids, annotations of an unknown image or category,
/// masks whose size differs from their image, malformed RLE strings and polygons, and every
/// missing or mistyped field. Each error names the file, the image id and the annotation id.
/// </remarks>
public sealed class CocoInstancesDataset
{
    private readonly Dictionary<string, CocoImage> _images;

    /// <summary>Creates a data set from parts already in memory (validated the same way as a file).</summary>
    public CocoInstancesDataset(IReadOnlyList<CocoImage> images, IReadOnlyList<CocoInstanceAnnotation> annotations,
        IReadOnlyList<CocoInstanceCategory> categories, string source = "<memory>")
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(annotations);
        ArgumentNullException.ThrowIfNull(categories);
        Images = images;
        Annotations = annotations;
        Categories = categories;
        Source = source;
        _images = new Dictionary<string, CocoImage>(images.Count, StringComparer.Ordinal);
        foreach (var im in images)
        {
            if (!_images.TryAdd(im.Id, im)) throw new DataFormatException("image id appears twice in 'images'", source, im.Id);
            if (im.Width < 1 || im.Height < 1) throw new DataFormatException($"image size {im.Width}x{im.Height} is not positive", source, im.Id);
        }
        var categoryIds = new HashSet<int>();
        foreach (var c in categories)
        {
            if (!categoryIds.Add(c.Id)) throw new DataFormatException($"category id {c.Id} appears twice in 'categories'", source);
        }
        var annotationIds = new HashSet<long>();
        foreach (var a in annotations)
        {
            if (!annotationIds.Add(a.Id))
                throw new DataFormatException("annotation id appears twice (pycocotools would silently evaluate one of them twice)", source, a.ImageId, a.Id, itemKind: DataFormatItemKind.Annotation);
            if (!_images.TryGetValue(a.ImageId, out var image))
                throw new DataFormatException("annotation refers to an image that is not in 'images'", source, a.ImageId, a.Id, itemKind: DataFormatItemKind.Annotation);
            if (!categoryIds.Contains(a.CategoryId))
                throw new DataFormatException($"annotation has category {a.CategoryId}, which is not in 'categories'", source, a.ImageId, a.Id, itemKind: DataFormatItemKind.Annotation);
            if (!double.IsFinite(a.Area) || a.Area < 0)
                throw new DataFormatException($"annotation area {a.Area} is not a finite non-negative number", source, a.ImageId, a.Id, itemKind: DataFormatItemKind.Annotation);
            if (a.BoundingBox is { } box) CheckBox(box, source, a.ImageId, a.Id);
            if (a.Segmentation?.Rle is { } rle && (rle.Height != image.Height || rle.Width != image.Width))
                throw new DataFormatException($"mask size {rle.Height}x{rle.Width} differs from its image's {image.Height}x{image.Width}", source, a.ImageId, a.Id, itemKind: DataFormatItemKind.Annotation);
        }
    }

    /// <summary>The <c>images</c> list, in file order.</summary>
    public IReadOnlyList<CocoImage> Images { get; }

    /// <summary>The <c>annotations</c> list, in file order (the order COCOeval matches ground truth in).</summary>
    public IReadOnlyList<CocoInstanceAnnotation> Annotations { get; }

    /// <summary>The <c>categories</c> list, in file order.</summary>
    public IReadOnlyList<CocoInstanceCategory> Categories { get; }

    /// <summary>The file the data set was read from, or the name given in memory.</summary>
    public string Source { get; }

    /// <summary>Finds an image by id.</summary>
    public bool TryGetImage(string imageId, out CocoImage image) => _images.TryGetValue(imageId, out image!);

    /// <summary>Reads and validates a COCO instance JSON file.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="DataFormatException">The JSON is malformed or violates the format.</exception>
    public static CocoInstancesDataset Load(string path) => Load(path, readMasks: true);

    /// <summary>
    /// <see cref="Load(string)"/>, optionally without the annotations' <c>segmentation</c> (left
    /// null, not read or checked): box AP never uses the ground truth's masks, as in pycocotools,
    /// and decoding them is most of the work of reading the file.
    /// </summary>
    internal static CocoInstancesDataset Load(string path, bool readMasks)
    {
        using var doc = JsonFields.ParseFile(path);
        var root = doc.RootElement;
        var top = new JsonFields(path, "top level");
        if (root.ValueKind != JsonValueKind.Object) throw top.Error($"expected a JSON object, found {root.ValueKind}");

        var categories = new List<CocoInstanceCategory>();
        var i = 0;
        foreach (var c in top.Required(root, "categories", JsonValueKind.Array).EnumerateArray())
        {
            var f = JsonFields.At(path, "categories", i++);
            var id = f.Int32(c, "id");
            var name = f.TryOptional(c, "name", JsonValueKind.String, out var n) ? n.GetString()! : id.ToString(CultureInfo.InvariantCulture);
            var super = f.TryOptional(c, "supercategory", JsonValueKind.String, out var s) ? s.GetString()! : "";
            categories.Add(new CocoInstanceCategory(id, name, super));
        }

        var images = new List<CocoImage>();
        i = 0;
        foreach (var im in top.Required(root, "images", JsonValueKind.Array).EnumerateArray())
        {
            var f = JsonFields.At(path, "images", i++);
            var id = f.Id(im, "id");
            f = f.Of(id);
            var fileName = f.TryOptional(im, "file_name", JsonValueKind.String, out var fn) ? fn.GetString()! : "";
            images.Add(new CocoImage(id, fileName, f.Int32(im, "width", 1), f.Int32(im, "height", 1)));
        }

        // Image sizes for checking masks that are not kept (duplicate ids are reported by the constructor).
        var sizes = new Dictionary<string, (int Height, int Width)>(StringComparer.Ordinal);
        if (!readMasks) foreach (var im in images) sizes.TryAdd(im.Id, (im.Height, im.Width));
        var annotations = new List<CocoInstanceAnnotation>();
        i = 0;
        foreach (var a in top.Required(root, "annotations", JsonValueKind.Array).EnumerateArray())
        {
            var f = JsonFields.At(path, "annotations", i);
            var id = f.Integer(a, "id");
            var imageId = f.Id(a, "image_id");
            f = f.Of(imageId, id, DataFormatItemKind.Annotation);
            IReadOnlyList<double>? box = null;
            if (f.TryOptional(a, "bbox", JsonValueKind.Array, out var bb)) box = bb.EnumerateArray().Select(v => f.Number(v, "bbox")).ToArray();
            CocoSegmentation? segmentation = null;
            if (a.TryGetProperty("segmentation", out var seg) && seg.ValueKind != JsonValueKind.Null)
            {
                if (readMasks) segmentation = CocoSegmentation.Parse(seg, f);
                else CocoSegmentation.Check(seg, f, sizes.TryGetValue(imageId, out var size) ? size : null);
            }
            var area = f.Number(f.Required(a, "area", JsonValueKind.Number), "area");
            annotations.Add(new CocoInstanceAnnotation(id, imageId, f.Int32(a, "category_id"), f.Flag(a, "iscrowd"), area, box, segmentation));
            i++;
        }
        return new CocoInstancesDataset(images, annotations, categories, path);
    }

    /// <summary>
    /// The instance ground truth of a panoptic data set, as panopticapi's
    /// <c>panoptic2detection_coco_format</c> converter makes it: one annotation per thing segment
    /// (ids 1, 2, … in JSON order), its mask the segment's pixels as RLE, its box the mask's extent,
    /// its area the JSON <c>area</c> (else the pixel count), crowd as flagged; every category listed.
    /// </summary>
    /// <param name="panoptic">The panoptic JSON.</param>
    /// <param name="pngFolder">Its segment-map PNGs.</param>
    /// <exception cref="DataFormatException">A PNG is missing or does not match its image.</exception>
    public static CocoInstancesDataset FromPanoptic(CocoPanopticDataset panoptic, string pngFolder)
    {
        ArgumentNullException.ThrowIfNull(panoptic);
        ArgumentException.ThrowIfNullOrEmpty(pngFolder);
        var thing = panoptic.Categories.ToDictionary(c => c.Id, c => c.IsThing);
        var images = panoptic.Images.ToDictionary(i => i.Id, StringComparer.Ordinal);
        var annotations = new List<CocoInstanceAnnotation>();
        foreach (var a in panoptic.Annotations)
        {
            var path = Path.Combine(pngFolder, a.FileName);
            var map = Png.ReadIds(path, out var width, out var height);
            if (images.TryGetValue(a.ImageId, out var image) && (image.Width != width || image.Height != height))
                throw new DataFormatException($"the PNG is {width}x{height} but its image {image.Width}x{image.Height}", path, a.ImageId);
            annotations.AddRange(ThingAnnotations(a.ImageId, map, height, width, a.Segments, thing, annotations.Count + 1, panoptic.Source));
        }
        return new CocoInstancesDataset(panoptic.Images, annotations,
            panoptic.Categories.Select(c => new CocoInstanceCategory(c.Id, c.Name, c.Supercategory)).ToArray(), panoptic.Source);
    }

    /// <summary>The thing segments of one panoptic image as instance annotations, numbered from <paramref name="firstId"/>.</summary>
    internal static IEnumerable<CocoInstanceAnnotation> ThingAnnotations(string imageId, ReadOnlySpan<uint> map, int height, int width,
        IReadOnlyList<CocoPanopticSegment> segments, IReadOnlyDictionary<int, bool> isThing, long firstId, string? source = null)
    {
        var rles = CocoRle.EncodeSegmentMap(map, height, width);
        var result = new List<CocoInstanceAnnotation>();
        foreach (var segment in segments)
        {
            if (!isThing.TryGetValue(segment.CategoryId, out var thing))
                throw new DataFormatException($"ground-truth category {segment.CategoryId} is not in the category list", source, imageId, segment.Id);
            if (!thing) continue;
            var rle = rles.TryGetValue(segment.Id, out var r) ? r : CocoRle.FromCounts([(uint)((long)height * width)], height, width);
            result.Add(new CocoInstanceAnnotation(firstId + result.Count, imageId, segment.CategoryId, segment.IsCrowd,
                segment.Area ?? rle.Area, rle.ToBoundingBox(), CocoSegmentation.FromRle(rle)));
        }
        return result;
    }

    /// <summary>Writes the data set as COCO instance JSON, atomically; masks are written as compressed RLE.</summary>
    public void Save(string path)
    {
        CocoJsonWriter.SaveDataset(path, Images, Annotations, static (w, a) =>
        {
            w.WriteNumber("id", a.Id);
            CocoIds.Write(w, "image_id", a.ImageId);
            w.WriteNumber("category_id", a.CategoryId);
            w.WriteNumber("iscrowd", a.IsCrowd ? 1 : 0);
            w.WriteNumber("area", a.Area);
            CocoJsonWriter.WriteNumbers(w, "bbox", a.BoundingBox);
            if (a.Segmentation is { } s)
            {
                w.WritePropertyName("segmentation");
                s.WriteJson(w);
            }
        }, Categories, static (w, c) => CocoJsonWriter.WriteCategoryFields(w, c.Id, c.Name, c.Supercategory));
    }

    internal static void CheckBox(IReadOnlyList<double> box, string source, string imageId, long? id)
    {
        if (box.Count != 4) throw new DataFormatException($"bbox has {box.Count} numbers, expected [x, y, width, height]", source, imageId, id, itemKind: DataFormatItemKind.Annotation);
        foreach (var v in box)
        {
            if (!double.IsFinite(v)) throw new DataFormatException($"bbox holds {v}, not a finite number", source, imageId, id, itemKind: DataFormatItemKind.Annotation);
        }
    }
}
