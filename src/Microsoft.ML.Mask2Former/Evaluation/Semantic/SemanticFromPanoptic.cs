namespace Microsoft.ML.Mask2Former.Evaluation;

/// <summary>
/// Semantic evaluation against panoptic ground truth, as Mask2Former's
/// <c>prepare_coco_semantic_annos_from_panoptic_annos.py</c> prepares it: every segment listed for
/// the image (crowd included) paints its category, class index = the category's position in the
/// list, void is ignored; predicted category ids map to the same indices.
/// </summary>
internal sealed class SemanticFromPanoptic
{
    /// <summary>The ignore label of the confusion matrix (no category index can take it).</summary>
    public const int Ignore = -1;

    private readonly Dictionary<long, int> _classOf;

    public SemanticFromPanoptic(IReadOnlyList<CocoPanopticCategory> categories)
    {
        _classOf = new Dictionary<long, int>(categories.Count);
        for (var k = 0; k < categories.Count; k++)
        {
            if (!_classOf.TryAdd(categories[k].Id, k)) throw new ArgumentException($"category id {categories[k].Id} appears twice in the category list", nameof(categories));
        }
    }

    public SemanticSegmentationAccumulator CreateAccumulator() => new(_classOf.Count, Ignore);

    /// <summary>Adds one image: its ground-truth segment map and segments, and a predicted category id per pixel.</summary>
    /// <exception cref="DataFormatException">Sizes differ, or a category is not in the list; the message names the image.</exception>
    public void Add(SemanticSegmentationAccumulator accumulator, string imageId, ReadOnlySpan<uint> map, IReadOnlyList<CocoPanopticSegment> segments,
        ReadOnlySpan<uint> predicted)
    {
        if (predicted.Length != map.Length)
            throw new DataFormatException($"size mismatch: the prediction has {predicted.Length} pixels, the ground truth {map.Length}", imageId: imageId);
        var classOfSegment = new Dictionary<uint, int>(segments.Count);
        foreach (var segment in segments)
        {
            if (!_classOf.TryGetValue(segment.CategoryId, out var k))
                throw new DataFormatException($"ground-truth category {segment.CategoryId} is not in the category list", imageId: imageId, itemId: segment.Id);
            classOfSegment[segment.Id] = k;
        }
        var gtClasses = new int[map.Length];
        var predClasses = new int[map.Length];
        for (var p = 0; p < map.Length; p++)
        {
            gtClasses[p] = classOfSegment.TryGetValue(map[p], out var g) ? g : Ignore;
            predClasses[p] = _classOf.TryGetValue(predicted[p], out var c) ? c
                : throw new DataFormatException($"predicted category {predicted[p]} at pixel {p} is not in the category list", imageId: imageId);
        }
        try
        {
            accumulator.Add(predClasses, gtClasses);
        }
        catch (DataFormatException e)
        {
            throw e.WithLocation(imageId: imageId);
        }
    }
}
