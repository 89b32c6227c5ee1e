namespace Microsoft.ML.Mask2Former.Evaluation;

/// <summary>
/// Panoptic quality exactly as the COCO panopticapi <c>pq_compute</c> computes it, for COCO
/// panoptic folders (JSON + PNGs, read row by row so memory stays at a few rows per thread) and
/// for segment maps already in memory.
/// </summary>
/// <remarks>
/// The rules, all those of panopticapi: a match needs IoU &gt; 0.5 between same-category,
/// non-crowd segments; the union leaves out the prediction's pixels on ground-truth void;
/// ground-truth areas come from the JSON <c>area</c> field, prediction areas from the PNG; an
/// unmatched prediction is not a false positive when more than half of it lies on void or on the
/// (last, in JSON order) crowd segment of its category; categories with tp + fp + fn = 0 are left
/// out of averages. Unlike panopticapi, inconsistent inputs that it would silently accept (a
/// ground-truth PNG id missing from its JSON, or the reverse) are refused with an exception.
/// </remarks>
public sealed class PanopticEvaluator
{
    private readonly HashSet<int> _categoryIds;

    /// <summary>Creates an evaluator for the given category list (normally the ground truth's).</summary>
    public PanopticEvaluator(IReadOnlyList<CocoPanopticCategory> categories)
    {
        ArgumentNullException.ThrowIfNull(categories);
        if (categories.Count == 0) throw new ArgumentException("the category list is empty", nameof(categories));
        Categories = categories;
        _categoryIds = categories.Select(c => c.Id).ToHashSet();
    }

    /// <summary>The categories results are reported for, in this order.</summary>
    public IReadOnlyList<CocoPanopticCategory> Categories { get; }

    /// <summary>Evaluates COCO panoptic prediction files against ground truth files, as <c>pq_compute(gt_json, pred_json, gt_folder, pred_folder)</c>.</summary>
    public static PanopticSegmentationMetrics EvaluateFiles(string gtJson, string gtFolder, string predJson, string predFolder,
        PanopticEvaluatorOptions? options = null)
    {
        var (gt, pred) = InputPair.Read((options ?? new PanopticEvaluatorOptions()).Threads,
            () => CocoPanopticDataset.Load(gtJson), () => CocoPanopticDataset.Load(predJson));
        if (gt.Categories.Count == 0) throw new DataFormatException("the ground truth has no categories", gtJson);
        var evaluator = new PanopticEvaluator(gt.Categories);
        return evaluator.Accumulate(gt, gtFolder, pred, predFolder, options).ComputeMetrics(gt.Categories);
    }

    /// <summary>
    /// Accumulates the counts of every ground-truth annotation (in ground-truth order) against
    /// the prediction of the same image id. Predictions of images absent from the ground truth are
    /// ignored, as in panopticapi; a ground-truth image without a prediction is an error.
    /// </summary>
    public PanopticQualityAccumulator Accumulate(CocoPanopticDataset groundTruth, string gtFolder,
        CocoPanopticDataset predictions, string predFolder, PanopticEvaluatorOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(groundTruth);
        ArgumentNullException.ThrowIfNull(predictions);
        if (!Directory.Exists(gtFolder)) throw new DirectoryNotFoundException($"ground-truth PNG folder not found: '{gtFolder}'");
        if (!Directory.Exists(predFolder)) throw new DirectoryNotFoundException($"prediction PNG folder not found: '{predFolder}'");
        options ??= new PanopticEvaluatorOptions();

        var pairs = new (CocoPanopticAnnotation Gt, CocoPanopticAnnotation Pred)[groundTruth.Annotations.Count];
        for (var i = 0; i < pairs.Length; i++)
        {
            var gt = groundTruth.Annotations[i];
            if (!predictions.TryGetAnnotation(gt.ImageId, out var pred))
                throw new DataFormatException("no prediction for this ground-truth image", predictions.Source, gt.ImageId);
            pairs[i] = (gt, pred);
        }
        var sizes = groundTruth.Images.ToDictionary(im => im.Id, im => (im.Width, im.Height), StringComparer.Ordinal);

        return Reduce(pairs.Length, options, (matcher, buffers, i) =>
        {
            try
            {
                return EvaluatePair(matcher, buffers, pairs[i].Gt, gtFolder, pairs[i].Pred, predFolder, sizes);
            }
            catch (DataFormatException e) when (e.ImageId is null)
            {
                throw e.WithLocation(imageId: pairs[i].Gt.ImageId);
            }
        });
    }

    private static PanopticImageStatistics EvaluatePair(PanopticImageMatcher matcher, RowBuffers buffers,
        CocoPanopticAnnotation gt, string gtFolder, CocoPanopticAnnotation pred, string predFolder,
        Dictionary<string, (int Width, int Height)> sizes)
    {
        var gtPath = Path.Combine(gtFolder, gt.FileName);
        var predPath = Path.Combine(predFolder, pred.FileName);
        using var gtPng = OpenPng(gtPath);
        using var predPng = OpenPng(predPath);
        if (gtPng.Width != predPng.Width || gtPng.Height != predPng.Height)
            throw new DataFormatException(
                $"size mismatch: ground truth '{gtPath}' is {gtPng.Width}×{gtPng.Height}, prediction is {predPng.Width}×{predPng.Height}",
                predPath, gt.ImageId);
        if (sizes.TryGetValue(gt.ImageId, out var size) && (size.Width != gtPng.Width || size.Height != gtPng.Height))
            throw new DataFormatException(
                $"the PNG is {gtPng.Width}×{gtPng.Height} but the JSON 'images' entry says {size.Width}×{size.Height}", gtPath, gt.ImageId);

        matcher.Begin(gt.ImageId, gt.Segments, pred.Segments, gtPath, predPath);
        var (gtRow, predRow) = buffers.Rows(gtPng.Width);
        for (var y = 0; y < gtPng.Height; y++)
        {
            gtPng.ReadIdRow(gtRow);
            predPng.ReadIdRow(predRow);
            matcher.AddPixels(gtRow, predRow);
        }
        return matcher.Finish();
    }

    /// <summary>
    /// Evaluates one image whose segment maps are in memory (row-major, <c>width × height</c>,
    /// 0 = void). Add the result to a <see cref="PanopticQualityAccumulator"/>.
    /// </summary>
    public PanopticImageStatistics EvaluateImage(string imageId, ReadOnlySpan<uint> gtMap, IReadOnlyList<CocoPanopticSegment> gtSegments,
        ReadOnlySpan<uint> predMap, IReadOnlyList<CocoPanopticSegment> predSegments)
    {
        ArgumentNullException.ThrowIfNull(gtSegments);
        ArgumentNullException.ThrowIfNull(predSegments);
        if (gtMap.Length != predMap.Length)
            throw new DataFormatException($"size mismatch: the ground-truth map has {gtMap.Length} pixels, the prediction {predMap.Length}", imageId: imageId);
        var matcher = new PanopticImageMatcher(_categoryIds.Contains);
        matcher.Begin(imageId, gtSegments, predSegments, "ground truth", "prediction");
        matcher.AddPixels(gtMap, predMap);
        return matcher.Finish();
    }

    private static PngRowReader OpenPng(string path)
    {
        if (!File.Exists(path)) throw new DataFormatException("PNG file not found", path);
        return PngRowReader.Open(path);
    }

    private PanopticQualityAccumulator Reduce(int count, PanopticEvaluatorOptions options,
        Func<PanopticImageMatcher, RowBuffers, int, PanopticImageStatistics> evaluate)
    {
        var results = new PanopticImageStatistics[count];
        var done = 0;
        var parallel = new ParallelOptions
        {
            MaxDegreeOfParallelism = Math.Max(1, options.Threads),
            CancellationToken = options.CancellationToken,
        };
        try
        {
            Parallel.For(0, count, parallel,
                () => (Matcher: new PanopticImageMatcher(_categoryIds.Contains), Buffers: new RowBuffers()),
                (i, _, local) =>
                {
                    results[i] = evaluate(local.Matcher, local.Buffers, i);
                    var finished = Interlocked.Increment(ref done);
                    options.Progress?.Report(finished);
                    return local;
                },
                _ => { });
        }
        catch (AggregateException e) when (e.InnerExceptions.Count > 0)
        {
            // Surface the image's own exception (file, image id, segment id), not the wrapper.
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
            throw;
        }

        // Reduce in ground-truth order so the sums never depend on the thread count.
        var total = new PanopticQualityAccumulator();
        foreach (var r in results) total.Add(r);
        return total;
    }

    private sealed class RowBuffers
    {
        private uint[] _gt = [];
        private uint[] _pred = [];

        public (uint[] Gt, uint[] Pred) Rows(int width)
        {
            if (_gt.Length != width)
            {
                _gt = new uint[width];
                _pred = new uint[width];
            }
            return (_gt, _pred);
        }
    }
}
