namespace Microsoft.ML.Mask2Former.Training.Data;

/// <summary>
/// A COCO panoptic data set read for training: photos, segment-map PNGs and the JSON, mapped to
/// the model's class indices. The JSON is read and checked when the set is opened; pixels are
/// decoded one image at a time by <see cref="Load"/> (thread-safe), so a damaged file is found
/// when it is reached and can be skipped.
/// </summary>
/// <remarks>
/// As in Mask2Former's dataset mappers, crowd segments are not trained (their pixels belong to no
/// target mask) and void pixels (id 0) neither. Images listed without an annotation are left out
/// with a warning (<see cref="Warnings"/>). A segment whose category is not in the label set is
/// an error at open time, naming the category, image and segment.
/// </remarks>
public sealed class CocoPanopticTrainingSet
{
    /// <summary>The photo folder of the standard layout.</summary>
    public const string ImagesFolderName = "images";

    /// <summary>The segment-map folder of the standard layout.</summary>
    public const string SegmentMapsFolderName = "panoptic";

    /// <summary>The JSON file of the standard layout.</summary>
    public const string AnnotationsFileName = "panoptic.json";

    private readonly CocoPanopticAnnotation[] _annotations;
    private readonly Dictionary<int, int> _classOfCategory;

    private CocoPanopticTrainingSet(CocoPanopticDataset dataset, string imagesFolder, string segmentMapsFolder, IReadOnlyList<string>? labels)
    {
        Dataset = dataset;
        ImagesFolder = imagesFolder;
        SegmentMapsFolder = segmentMapsFolder;
        var warnings = new List<string>();
        var images = new List<CocoImage>();
        var annotations = new List<CocoPanopticAnnotation>();
        foreach (var image in dataset.Images)
        {
            if (dataset.TryGetAnnotation(image.Id, out var annotation))
            {
                images.Add(image);
                annotations.Add(annotation);
            }
            else
            {
                warnings.Add($"image {image.Id} ('{image.FileName}') has no annotation in {dataset.Source}; it is not trained");
            }
        }
        if (images.Count == 0) throw new DataFormatException("the data set has no annotated image", dataset.Source);
        Images = images;
        _annotations = annotations.ToArray();

        var categories = dataset.Categories;
        if (categories.Count == 0) throw new DataFormatException("the data set has no categories", dataset.Source);
        Labels = labels is null ? categories.Select(c => c.Name).ToArray() : labels.ToArray();
        var classOfName = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < Labels.Count; i++) classOfName.TryAdd(Labels[i], i);
        _classOfCategory = new Dictionary<int, int>();
        var categoryIds = Enumerable.Repeat(-1, Labels.Count).ToArray();
        var isThing = new bool[Labels.Count];
        foreach (var c in categories)
        {
            if (!classOfName.TryGetValue(c.Name, out var k)) continue;
            _classOfCategory[c.Id] = k;
            categoryIds[k] = c.Id;
            isThing[k] = c.IsThing;
        }
        CategoryIds = categoryIds;
        IsThing = isThing;
        var byId = categories.ToDictionary(c => c.Id);
        foreach (var a in _annotations)
        {
            foreach (var s in a.Segments)
            {
                if (s.IsCrowd || _classOfCategory.ContainsKey(s.CategoryId)) continue;
                var name = byId.TryGetValue(s.CategoryId, out var c) ? $"category {s.CategoryId} '{c.Name}'" : $"category {s.CategoryId}";
                throw new DataFormatException($"{name} is not in the model's label set ({Labels.Count} classes: {string.Join(", ", Labels.Take(20))}{(Labels.Count > 20 ? ", …" : "")})",
                    dataset.Source, a.ImageId, s.Id);
            }
        }
        Warnings = warnings;
    }

    /// <summary>Opens a folder of the standard layout: <c>images/</c>, <c>panoptic.json</c>, <c>panoptic/</c>.</summary>
    /// <param name="folder">The data set folder.</param>
    /// <param name="labels">The model's class names (class index = position); <see langword="null"/> to take the data set's categories in JSON order.</param>
    /// <exception cref="DirectoryNotFoundException">The folder or a sub-folder is missing.</exception>
    /// <exception cref="DataFormatException">The JSON is invalid, has no annotated image, or uses a category outside <paramref name="labels"/>.</exception>
    public static CocoPanopticTrainingSet Open(string folder, IReadOnlyList<string>? labels = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"data folder not found: '{folder}'");
        return Open(Path.Combine(folder, AnnotationsFileName), Path.Combine(folder, ImagesFolderName), Path.Combine(folder, SegmentMapsFolderName), labels);
    }

    /// <summary>Opens a COCO panoptic data set from its three parts.</summary>
    /// <param name="annotationsJson">The panoptic JSON.</param>
    /// <param name="imagesFolder">The photos (any format ImageAnalytics decodes: JPEG, PNG, …).</param>
    /// <param name="segmentMapsFolder">The segment-map PNGs named by the annotations' <c>file_name</c>.</param>
    /// <param name="labels">The model's class names; <see langword="null"/> for the data set's categories.</param>
    /// <exception cref="DirectoryNotFoundException">A folder is missing.</exception>
    /// <exception cref="FileNotFoundException">The JSON is missing.</exception>
    /// <exception cref="DataFormatException">The JSON is invalid, has no annotated image, or uses a category outside <paramref name="labels"/>.</exception>
    public static CocoPanopticTrainingSet Open(string annotationsJson, string imagesFolder, string segmentMapsFolder, IReadOnlyList<string>? labels = null)
    {
        if (!File.Exists(annotationsJson)) throw new FileNotFoundException($"panoptic JSON not found: '{annotationsJson}'", annotationsJson);
        if (!Directory.Exists(imagesFolder)) throw new DirectoryNotFoundException($"image folder not found: '{imagesFolder}'");
        if (!Directory.Exists(segmentMapsFolder)) throw new DirectoryNotFoundException($"segment-map folder not found: '{segmentMapsFolder}'");
        return new CocoPanopticTrainingSet(CocoPanopticDataset.Load(annotationsJson), imagesFolder, segmentMapsFolder, labels);
    }

    /// <summary>The parsed JSON.</summary>
    public CocoPanopticDataset Dataset { get; }

    /// <summary>The photo folder.</summary>
    public string ImagesFolder { get; }

    /// <summary>The segment-map folder.</summary>
    public string SegmentMapsFolder { get; }

    /// <summary>The annotated images, in JSON order (<see cref="Load"/>'s indices).</summary>
    public IReadOnlyList<CocoImage> Images { get; }

    /// <summary>The number of annotated images.</summary>
    public int Count => Images.Count;

    /// <summary>The class names; class index = position.</summary>
    public IReadOnlyList<string> Labels { get; }

    /// <summary>The data set category id of each class, or −1 for a class the data set lacks.</summary>
    public IReadOnlyList<int> CategoryIds { get; }

    /// <summary>Whether each class is a thing (countable) rather than stuff.</summary>
    public IReadOnlyList<bool> IsThing { get; }

    /// <summary>What was left out when the set was opened.</summary>
    public IReadOnlyList<string> Warnings { get; }

    /// <summary>The annotation of image <paramref name="index"/>.</summary>
    public CocoPanopticAnnotation Annotation(int index) => _annotations[index];

    /// <summary>Decodes image <paramref name="index"/> and its segment map.</summary>
    /// <exception cref="DataFormatException">The photo or PNG is missing or cannot be decoded, their sizes differ, or the PNG holds an id the JSON does not list; the message names the file.</exception>
    public PanopticTrainingImage Load(int index)
    {
        var image = Images[index];
        var annotation = _annotations[index];
        var imagePath = Path.Combine(ImagesFolder, image.FileName);
        var pngPath = Path.Combine(SegmentMapsFolder, annotation.FileName);
        var rgb = DecodeRgb(imagePath, image.Id, out var width, out var height);
        if (!File.Exists(pngPath)) throw new DataFormatException("segment-map PNG not found", pngPath, image.Id);
        var ids = Png.ReadIds(pngPath, out var mapWidth, out var mapHeight);
        if (mapWidth != width || mapHeight != height)
            throw new DataFormatException($"the segment map is {mapWidth}x{mapHeight} but the image '{image.FileName}' is {width}x{height}", pngPath, image.Id);

        var indexOfId = new Dictionary<uint, int>();
        var labels = new List<int>();
        var known = new HashSet<uint>();
        foreach (var s in annotation.Segments)
        {
            known.Add(s.Id);
            if (s.IsCrowd) continue;
            indexOfId[s.Id] = labels.Count;
            labels.Add(_classOfCategory[s.CategoryId]);
        }
        var segmentIndex = new int[ids.Length];
        uint lastId = 0;
        var lastIndex = -1;
        for (var p = 0; p < ids.Length; p++)
        {
            var id = ids[p];
            if (id == 0) { segmentIndex[p] = -1; continue; }
            if (id != lastId)
            {
                if (!indexOfId.TryGetValue(id, out lastIndex))
                {
                    if (!known.Contains(id))
                        throw new DataFormatException($"the segment map holds id {id} (at pixel {p % width}, {p / width}) that segments_info does not list", pngPath, image.Id, id);
                    lastIndex = -1;
                }
                lastId = id;
            }
            segmentIndex[p] = lastIndex;
        }
        return new PanopticTrainingImage(image.Id, width, height, rgb, ids, segmentIndex, labels.ToArray());
    }

    private static byte[] DecodeRgb(string path, string imageId, out int width, out int height)
    {
        if (!File.Exists(path)) throw new DataFormatException("image file not found", path, imageId);
        using var decoded = ImageFile.Decode(path, imageId);
        width = decoded.Width;
        height = decoded.Height;
        var pixels = decoded.GetPixelSpan();
        var rgb = new byte[3 * width * height];
        var bgra = decoded.ColorType == SkiaSharp.SKColorType.Bgra8888;
        if (pixels.Length < 4L * width * height) throw new DataFormatException($"the decoder returned {pixels.Length} bytes for {width}x{height} pixels", path, imageId);
        for (int p = 0, q = 0; q < rgb.Length; p += 4, q += 3)
        {
            rgb[q] = pixels[bgra ? p + 2 : p];
            rgb[q + 1] = pixels[p + 1];
            rgb[q + 2] = pixels[bgra ? p : p + 2];
        }
        return rgb;
    }
}
