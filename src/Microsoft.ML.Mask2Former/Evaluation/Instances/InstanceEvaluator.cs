namespace Microsoft.ML.Mask2Former.Evaluation;

/// <summary>
/// COCO instance AP for boxes and masks, number for number equal to pycocotools' <c>COCOeval</c>
/// (<c>evaluate</c>, <c>accumulate</c>, <c>summarize</c>) with default parameters.
/// </summary>
/// <remarks>
/// <para>
/// The rules, as COCOeval applies them: IoU thresholds 0.50:0.05:0.95 and recall thresholds
/// 0:0.01:1 as numpy's <c>linspace</c> computes them; at most 100 detections per image and
/// category, ranked by score with ties in file order (stable); a detection matches the best
/// remaining ground truth with IoU ≥ the threshold, never leaving a counting ground truth for
/// an ignored one; crowd ground truth is ignored, can absorb any number of detections, and is
/// compared with IoU = intersection / detection area; area ranges are inclusive at both ends and
/// use the ground truth's <c>area</c> field and the detection's box or mask area; categories
/// without counting ground truth are −1 and left out of the averages.
/// </para>
/// <para>
/// Results are read as <c>loadRes</c> reads them: detections get ids 1, 2, … in file order;
/// when the first result has a non-empty <c>bbox</c>, every result's area is its box area
/// (even for mask evaluation) and a result without a mask is evaluated as its box's polygon;
/// otherwise areas come from the masks and missing boxes from the masks' extents.
/// </para>
/// <para>
/// Where pycocotools would crash or silently count nonsense, this evaluator stops with a
/// <see cref="DataFormatException"/> naming the file, image and item: results for an image or
/// a category the ground truth does not have, masks whose size differs from their image, a
/// missing box or mask, non-finite numbers. An empty results list is not an error: every
/// category with ground truth gets AP 0 (pycocotools fails on it).
/// </para>
/// </remarks>
public static class InstanceEvaluator
{
    /// <summary>Evaluates a results file against a COCO instance ground-truth file.</summary>
    /// <param name="groundTruthPath">COCO instance JSON (images, annotations, categories).</param>
    /// <param name="resultsPath">COCO results JSON (an array of detections).</param>
    /// <param name="iouType">Boxes or masks.</param>
    /// <param name="options">Threads; <see langword="null"/> for the defaults.</param>
    public static InstanceSegmentationMetrics EvaluateFiles(string groundTruthPath, string resultsPath, InstanceIouType iouType,
        InstanceEvaluatorOptions? options = null)
    {
        // Box AP reads no ground-truth masks (COCOeval converts them only for segm).
        var readMasks = iouType == InstanceIouType.Segmentation;
        var (gt, results) = InputPair.Read((options ?? new InstanceEvaluatorOptions()).Threads,
            () => CocoInstancesDataset.Load(groundTruthPath, readMasks), () => CocoResultsFile.Load(resultsPath));
        return Evaluate(gt, results, iouType, options, resultsPath);
    }

    /// <summary>Evaluates detections held in memory.</summary>
    /// <param name="groundTruth">The ground truth.</param>
    /// <param name="detections">The detections, in the order a results file would list them.</param>
    /// <param name="iouType">Boxes or masks.</param>
    /// <param name="options">Threads; <see langword="null"/> for the defaults.</param>
    /// <param name="resultsSource">A name for the detections in error messages (a file path, or a description).</param>
    public static InstanceSegmentationMetrics Evaluate(CocoInstancesDataset groundTruth, IReadOnlyList<CocoDetection> detections,
        InstanceIouType iouType, InstanceEvaluatorOptions? options = null, string resultsSource = "<results>") =>
        Accumulate(groundTruth, detections, iouType, options, resultsSource).ComputeMetrics(groundTruth.Categories, options?.Threads ?? 0);

    /// <summary>
    /// Like <see cref="Evaluate"/> but returns the mergeable per-image evaluation, for evaluating
    /// shards of a data set apart (each with its own images' ground truth and detections) and
    /// merging them with <see cref="InstanceEvaluationAccumulator.Add"/>.
    /// </summary>
    /// <param name="groundTruth">The ground truth of the images to evaluate.</param>
    /// <param name="detections">Their detections, in the order a results file would list them.</param>
    /// <param name="iouType">Boxes or masks.</param>
    /// <param name="options">Threads; <see langword="null"/> for the defaults.</param>
    /// <param name="resultsSource">A name for the detections in error messages.</param>
    public static InstanceEvaluationAccumulator Accumulate(CocoInstancesDataset groundTruth, IReadOnlyList<CocoDetection> detections,
        InstanceIouType iouType, InstanceEvaluatorOptions? options = null, string resultsSource = "<results>")
    {
        ArgumentNullException.ThrowIfNull(groundTruth);
        ArgumentNullException.ThrowIfNull(detections);
        options ??= new InstanceEvaluatorOptions();
        if (options.Threads < 1) throw new ArgumentOutOfRangeException(nameof(options), $"Threads must be at least 1, got {options.Threads}");
        if (!Enum.IsDefined(iouType)) throw new ArgumentOutOfRangeException(nameof(iouType), $"unknown IoU type {iouType}");

        // COCOeval: imgIds = np.unique(all image ids), catIds = np.unique(all category ids).
        var imageIds = CocoIds.Sorted(groundTruth.Images.Select(i => i.Id));
        var imageIndex = new Dictionary<string, int>(imageIds.Length, StringComparer.Ordinal);
        for (var i = 0; i < imageIds.Length; i++) imageIndex[imageIds[i]] = i;
        var categories = groundTruth.Categories.OrderBy(c => c.Id).ToArray();
        var categoryIndex = new Dictionary<int, int>(categories.Length);
        for (var k = 0; k < categories.Length; k++) categoryIndex[categories[k].Id] = k;

        var gtByImage = new List<(int Category, CocoInstanceAnnotation Annotation)>?[imageIds.Length];
        foreach (var a in groundTruth.Annotations)
        {
            var i = imageIndex[a.ImageId];
            (gtByImage[i] ??= []).Add((categoryIndex[a.CategoryId], a));
        }
        var dtByImage = new List<(int Category, long Id, CocoDetection Detection)>?[imageIds.Length];
        var boxBranch = detections.Count > 0 && detections[0].BoundingBox is { Count: > 0 };
        for (var n = 0; n < detections.Count; n++)
        {
            var d = detections[n] ?? throw new ArgumentException($"detection {n} is null", nameof(detections));
            if (!imageIndex.TryGetValue(d.ImageId, out var i))
                throw new DataFormatException($"results[{n}] is for an image that is not in the ground truth '{groundTruth.Source}'", resultsSource, d.ImageId);
            if (!categoryIndex.TryGetValue(d.CategoryId, out var k))
                throw new DataFormatException($"results[{n}] has category {d.CategoryId}, which the ground truth '{groundTruth.Source}' does not list (drop such detections or map their ids first)",
                    resultsSource, d.ImageId);
            if (!double.IsFinite(d.Score)) throw new DataFormatException($"results[{n}] has score {d.Score}", resultsSource, d.ImageId);
            (dtByImage[i] ??= []).Add((k, n + 1, d));
        }

        // Per image: prepare the objects (masks decoded or rasterised), compute IoUs and match.
        var perImage = new (int Category, InstanceImageEvaluation Evaluation)[imageIds.Length][];
        var errors = new Exception?[imageIds.Length];
        Parallel.For(0, imageIds.Length, new ParallelOptions { MaxDegreeOfParallelism = options.Threads }, i =>
        {
            try
            {
                groundTruth.TryGetImage(imageIds[i], out var image);
                perImage[i] = EvaluateImage(image, gtByImage[i], dtByImage[i], iouType, boxBranch, groundTruth.Source, resultsSource);
            }
            catch (Exception e) when (e is DataFormatException or ArgumentException)
            {
                errors[i] = e;
            }
        });
        // Report the first bad item in image order, whatever the thread count.
        if (Array.Find(errors, e => e is not null) is { } first) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(first);
        var result = new InstanceEvaluationAccumulator(iouType);
        for (var i = 0; i < imageIds.Length; i++)
        {
            result.AddImage(imageIds[i], perImage[i].Select(e => (categories[e.Category].Id, e.Evaluation)));
            if (gtByImage[i] is { } g) foreach (var (k, _) in g) result.Count(categories[k].Id, 1, 0);
            if (dtByImage[i] is { } d) foreach (var (k, _, _) in d) result.Count(categories[k].Id, 0, 1);
        }
        return result;
    }

    private static (int, InstanceImageEvaluation)[] EvaluateImage(CocoImage image, List<(int Category, CocoInstanceAnnotation Annotation)>? gts,
        List<(int Category, long Id, CocoDetection Detection)>? dts, InstanceIouType iouType, bool boxBranch, string gtSource, string dtSource)
    {
        if (gts is null && dts is null) return [];
        var gtGroups = new Dictionary<int, List<PreparedGroundTruth>>();
        var dtGroups = new Dictionary<int, List<PreparedDetection>>();
        var keys = new List<int>();
        if (gts is not null)
        {
            foreach (var (k, a) in gts)
            {
                if (!gtGroups.TryGetValue(k, out var list))
                {
                    gtGroups[k] = list = [];
                    keys.Add(k);
                }
                list.Add(PrepareGroundTruth(a, image, iouType, gtSource));
            }
        }
        if (dts is not null)
        {
            foreach (var (k, id, d) in dts)
            {
                if (!dtGroups.TryGetValue(k, out var list))
                {
                    dtGroups[k] = list = [];
                    if (!gtGroups.ContainsKey(k)) keys.Add(k);
                }
                list.Add(PrepareDetection(d, id, image, iouType, boxBranch, dtSource));
            }
        }
        keys.Sort();
        var result = new (int, InstanceImageEvaluation)[keys.Count];
        for (var n = 0; n < keys.Count; n++)
        {
            var k = keys[n];
            IReadOnlyList<PreparedGroundTruth> g = gtGroups.TryGetValue(k, out var gl) ? gl : [];
            IReadOnlyList<PreparedDetection> d = dtGroups.TryGetValue(k, out var dl) ? dl : [];
            result[n] = (k, InstanceImageEvaluation.Evaluate(g, d, iouType));
        }
        return result;
    }

    private static PreparedGroundTruth PrepareGroundTruth(CocoInstanceAnnotation a, CocoImage image, InstanceIouType iouType, string source)
    {
        if (iouType == InstanceIouType.BoundingBox)
        {
            if (a.BoundingBox is not { Count: 4 } box)
                throw new DataFormatException("box AP needs a 'bbox' on every ground-truth annotation", source, a.ImageId, a.Id, itemKind: DataFormatItemKind.Annotation);
            return new PreparedGroundTruth(a.Id, a.IsCrowd, a.Area, Numbers(box), null);
        }
        if (a.Segmentation is null)
            throw new DataFormatException("mask AP needs a 'segmentation' on every ground-truth annotation", source, a.ImageId, a.Id, itemKind: DataFormatItemKind.Annotation);
        return new PreparedGroundTruth(a.Id, a.IsCrowd, a.Area, null, ToMask(a.Segmentation, image, source, -1, a.ImageId, a.Id));
    }

    // Detection n (1-based) is results[n - 1]; its name is formatted only for an error.
    private static PreparedDetection PrepareDetection(CocoDetection d, long id, CocoImage image, InstanceIouType iouType, bool boxBranch, string source)
    {
        if (boxBranch)
        {
            // loadRes' box branch: area = w·h; a result without a mask becomes its box's polygon.
            if (d.BoundingBox is not { Count: 4 } box)
                throw new DataFormatException($"{Item(id - 1)} has no 'bbox', but results[0] has one, so every result needs one (as in pycocotools' loadRes)", source, d.ImageId, null);
            CocoInstancesDataset.CheckBox(box, source, d.ImageId, null);
            CocoRle? mask = null;
            if (iouType == InstanceIouType.Segmentation)
            {
                if (d.Segmentation is { } s)
                {
                    mask = ToMask(s, image, source, id - 1, d.ImageId, null);
                }
                else
                {
                    try
                    {
                        mask = CocoRle.FromPolygon([box[0], box[1], box[0], box[1] + box[3], box[0] + box[2], box[1] + box[3], box[0] + box[2], box[1]], image.Height, image.Width);
                    }
                    catch (ArgumentException e)
                    {
                        throw new DataFormatException($"{Item(id - 1)} box: {e.Message}", source, d.ImageId, null, e, DataFormatItemKind.Annotation);
                    }
                }
            }
            return new PreparedDetection(id, d.Score, box[2] * box[3], Numbers(box), mask);
        }
        // loadRes' mask branch: area from the mask, box from the mask when absent.
        if (d.Segmentation is null)
            throw new DataFormatException($"{Item(id - 1)} has no 'segmentation', but results[0] has no 'bbox', so every result needs a mask (as in pycocotools' loadRes)", source, d.ImageId, null);
        var rle = ToMask(d.Segmentation, image, source, id - 1, d.ImageId, null);
        double[] detectionBox;
        if (d.BoundingBox is { Count: 4 } given)
        {
            CocoInstancesDataset.CheckBox(given, source, d.ImageId, null);
            detectionBox = Numbers(given);
        }
        else
        {
            detectionBox = rle.Box; // cached on the mask, read only
        }
        return new PreparedDetection(id, d.Score, rle.Area, detectionBox, iouType == InstanceIouType.Segmentation ? rle : null);
    }

    /// <summary>The item an error names: a ground-truth annotation (<paramref name="resultIndex"/> −1) or results[<paramref name="resultIndex"/>].</summary>
    private static string Item(long resultIndex) =>
        resultIndex < 0 ? "annotation" : $"results[{resultIndex.ToString(CultureInfo.InvariantCulture)}]";

    // The readers hold numbers as arrays, which matching only reads.
    private static double[] Numbers(IReadOnlyList<double> values) => values as double[] ?? [.. values];

    private static CocoRle ToMask(CocoSegmentation s, CocoImage image, string source, long resultIndex, string imageId, long? id)
    {
        try
        {
            return s.ToRle(image.Height, image.Width);
        }
        catch (ArgumentException e)
        {
            throw new DataFormatException($"{Item(resultIndex)}: {e.Message}", source, imageId, id, e, DataFormatItemKind.Annotation);
        }
    }
}
