using Microsoft.ML.Mask2Former.Evaluation;
using Microsoft.ML.Mask2Former.PostProcessing;
using Microsoft.ML.Mask2Former.Scoring;

namespace Microsoft.ML.Mask2Former.Tuning;

/// <summary>
/// Tunes the panoptic post-processing thresholds (<c>object_mask_threshold</c>,
/// <c>overlap_threshold</c>) of a Mask2Former ONNX model on a COCO panoptic validation set. The
/// model runs once per image and its logits are cached, so each setting costs only the
/// post-processing and the exact PQ evaluation: a grid of dozens of settings takes seconds.
/// </summary>
/// <remarks>
/// The cache holds every image's logits (queries × classes plus queries × mask pixels at a
/// quarter of the input size) and ground-truth map: use a validation subset of a few hundred
/// images, not a whole data set. Tune on images you do not report results on.
/// </remarks>
public sealed class PanopticThresholdSweep
{
    /// <summary>The name of the score threshold in sweep settings.</summary>
    public const string ObjectMaskThreshold = "object_mask_threshold";

    /// <summary>The name of the overlap threshold in sweep settings.</summary>
    public const string OverlapThreshold = "overlap_threshold";

    private readonly List<CachedImage> _images;
    private readonly IReadOnlyList<Mask2FormerLabel> _labels;
    private readonly IReadOnlyList<CocoPanopticCategory> _categories;

    private PanopticThresholdSweep(List<CachedImage> images, IReadOnlyList<Mask2FormerLabel> labels, IReadOnlyList<CocoPanopticCategory> categories,
        IReadOnlyDictionary<string, string> identity)
    {
        _images = images;
        _labels = labels;
        _categories = categories;
        Identity = identity;
    }

    /// <summary>The number of cached images.</summary>
    public int ImageCount => _images.Count;

    /// <summary>
    /// What the cached logits come from: the SHA-256 of the model and of the data set's JSON, the
    /// input size rule and the label set. <see cref="Run"/> records it in the journal, so a sweep
    /// resumed on another model or data set is refused instead of reusing the old scores.
    /// </summary>
    public IReadOnlyDictionary<string, string> Identity { get; }

    /// <summary>
    /// Runs the model on every image of a COCO panoptic folder (<c>images/</c>, <c>panoptic.json</c>,
    /// <c>panoptic/</c>) and caches the logits and ground truth.
    /// </summary>
    /// <param name="predictorOptions">The model (and optionally its labels, input size, threads).</param>
    /// <param name="datasetFolder">The validation folder.</param>
    /// <param name="progress">Receives the number of images done.</param>
    public static PanopticThresholdSweep Create(Mask2FormerPredictorOptions predictorOptions, string datasetFolder, IProgress<int>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(predictorOptions);
        ArgumentException.ThrowIfNullOrEmpty(datasetFolder);
        var json = Path.Combine(datasetFolder, "panoptic.json");
        var gt = CocoPanopticDataset.Load(json);
        using var predictor = new Mask2FormerPredictor(predictorOptions);
        var identity = Describe(predictorOptions, json);
        var images = new List<CachedImage>(gt.Images.Count);
        foreach (var image in gt.Images)
        {
            if (!gt.TryGetAnnotation(image.Id, out var annotation))
                throw new DataFormatException("the image has no annotation", json, image.Id);
            var imagePath = Path.Combine(datasetFolder, "images", image.FileName);
            using var mlImage = ImageFile.Load(imagePath, image.Id);
            var (classes, masks, geometry, settings) = predictor.Run(mlImage);
            // Every setting would score the same dropped queries: a sweep over NaN logits measures nothing.
            if (NonFiniteValues.Count(classes) + NonFiniteValues.Count(masks) is > 0 and var nonFinite)
                throw new DataFormatException($"the model gave {nonFinite} NaN or infinite logits for this image (are its weights damaged?)", imagePath, image.Id);
            var gtMap = Png.ReadIds(Path.Combine(datasetFolder, "panoptic", annotation.FileName), out var w, out var h);
            if (w != mlImage.Width || h != mlImage.Height)
                throw new DataFormatException($"the segment map is {w}×{h} but the image is {mlImage.Width}×{mlImage.Height}", annotation.FileName, image.Id);
            images.Add(new CachedImage(image.Id, classes, masks, geometry, settings, gtMap, annotation.Segments));
            progress?.Report(images.Count);
        }
        return new PanopticThresholdSweep(images, predictor.Labels, gt.Categories, identity);
    }

    private static Dictionary<string, string> Describe(Mask2FormerPredictorOptions options, string json)
    {
        static string Sha256(Stream stream) => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(stream));
        string model;
        if (options.ModelBytes is { } bytes) model = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes));
        else using (var stream = File.OpenRead(options.ModelPath!)) model = Sha256(stream);
        string data;
        using (var stream = File.OpenRead(json)) data = Sha256(stream);
        var input = options.InputHeight is { } h && options.InputWidth is { } w
            ? string.Create(CultureInfo.InvariantCulture, $"{h}x{w}")
            : string.Create(CultureInfo.InvariantCulture, $"model's own, else shortest edge {options.ShortestEdge} max {options.MaxSize}");
        var labels = options.Labels is null ? "model's own"
            : string.Join(",", options.Labels.Select(l => string.Create(CultureInfo.InvariantCulture, $"{l.Id}:{l.Name}:{(l.IsThing ? 1 : 0)}")));
        return new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["model_sha256"] = model,
            ["data_sha256"] = data,
            ["input_size"] = input,
            ["labels"] = labels,
        };
    }

    /// <summary>PQ (all categories) with the given thresholds.</summary>
    public PanopticSegmentationMetrics Evaluate(double objectMaskThreshold, double overlapThreshold)
    {
        if (!(objectMaskThreshold is >= 0 and <= 1)) throw new ArgumentOutOfRangeException(nameof(objectMaskThreshold), $"must be in [0, 1], got {objectMaskThreshold}");
        if (!(overlapThreshold is >= 0 and <= 1)) throw new ArgumentOutOfRangeException(nameof(overlapThreshold), $"must be in [0, 1], got {overlapThreshold}");
        var evaluator = new PanopticEvaluator(_categories);
        var accumulator = new PanopticQualityAccumulator();
        foreach (var image in _images)
        {
            var options = image.Settings.PanopticOptions();
            options.ObjectMaskThreshold = objectMaskThreshold;
            options.OverlapThreshold = overlapThreshold;
            var logits = ScoringCore.Logits(image.ClassLogits, image.MaskLogits, image.Settings, image.Geometry.PaddedHeight, image.Geometry.PaddedWidth);
            var result = Mask2FormerPostProcessor.Panoptic(logits, image.Geometry, options);
            var map = new uint[result.SegmentIds.Length];
            for (var i = 0; i < map.Length; i++) map[i] = (uint)result.SegmentIds[i];
            var segments = result.Segments.Select(s => new CocoPanopticSegment((uint)s.Id, _labels[s.CategoryId].Id)).ToArray();
            accumulator.Add(evaluator.EvaluateImage(image.Id, image.GroundTruthMap, image.GroundTruthSegments, map, segments));
        }
        return accumulator.ComputeMetrics(_categories);
    }

    /// <summary>
    /// Evaluates every setting (grid search, results ranked by PQ, journal and reports as
    /// <see cref="SweepRunner"/> writes them). Settings must name <see cref="ObjectMaskThreshold"/>
    /// and <see cref="OverlapThreshold"/>. The journal records <see cref="Identity"/> (with any
    /// entries of the options' own identity).
    /// </summary>
    public SweepOutcome Run(IReadOnlyList<SweepSettings> candidates, SweepRunnerOptions? options = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(candidates);
        options ??= new SweepRunnerOptions();
        var identity = new Dictionary<string, string>(Identity, StringComparer.Ordinal);
        foreach (var (key, value) in options.Identity ?? new Dictionary<string, string>()) identity[key] = value;
        var withIdentity = new SweepRunnerOptions
        {
            Name = options.Name,
            HigherIsBetter = options.HigherIsBetter,
            JournalPath = options.JournalPath,
            Progress = options.Progress,
            Identity = identity,
        };
        var runner = new SweepRunner((settings, _, _) =>
            Evaluate(settings.GetDouble(ObjectMaskThreshold), settings.GetDouble(OverlapThreshold)).PanopticQuality, withIdentity);
        return runner.Run(candidates, 1, cancellation);
    }

    /// <summary>The default grid: object-mask threshold 0.3–0.9 by 0.1 × overlap threshold 0.5–0.9 by 0.1 (35 settings).</summary>
    public static SweepSpace DefaultSpace() => new SweepSpace()
        .Choice(ObjectMaskThreshold, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
        .Choice(OverlapThreshold, 0.5, 0.6, 0.7, 0.8, 0.9);

    private sealed record CachedImage(string Id, float[] ClassLogits, float[] MaskLogits, ImageGeometry Geometry, ScoringSettings Settings,
        uint[] GroundTruthMap, IReadOnlyList<CocoPanopticSegment> GroundTruthSegments);
}
