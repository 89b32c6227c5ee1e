using System.Collections.Immutable;
using Microsoft.ML.Mask2Former.PostProcessing;

namespace Microsoft.ML.Mask2Former.Scoring;

/// <summary>
/// Everything scoring needs besides the network, resolved once when a pipeline is built and then
/// carried as two numeric vectors (<see cref="ToConfig"/>, <see cref="ToLabels"/>) that a small
/// generated ONNX model emits as constant outputs. That is how the settings live inside the saved
/// ML.NET model: stock transforms cannot hold them and a custom mapping has no state of its own.
/// </summary>
internal sealed class ScoringSettings
{
    private const double LayoutVersion = 1;
    private const int ConfigLength = 18;

    public static readonly double[] ImageNetMean = [0.485, 0.456, 0.406];
    public static readonly double[] ImageNetStd = [0.229, 0.224, 0.225];

    public int InputHeight { get; init; }
    public int InputWidth { get; init; }
    public double[] Mean { get; init; } = ImageNetMean;
    public double[] Std { get; init; } = ImageNetStd;
    public double ObjectMaskThreshold { get; init; } = 0.8;
    public double OverlapThreshold { get; init; } = 0.8;
    public int TopK { get; init; } = 100;
    public bool ThingClassesOnly { get; init; }
    public bool PostProcessBeforeInference { get; init; }
    public int NumClasses { get; init; }
    public PostProcessingMode PostProcessing { get; init; }
    public bool FilterLowScore { get; init; }

    /// <summary>Mask logit size; 0 when the model leaves it open (then taken from the logits' length).</summary>
    public int MaskHeight { get; init; }
    public int MaskWidth { get; init; }

    public ImmutableArray<Mask2FormerLabel> Labels { get; init; } = [];

    public int[] ThingClasses() => Enumerable.Range(0, Labels.Length).Where(i => Labels[i].IsThing).ToArray();

    public PanopticOptions PanopticOptions() => new()
    {
        ObjectMaskThreshold = ObjectMaskThreshold,
        OverlapThreshold = OverlapThreshold,
        ThingClasses = ThingClasses(),
    };

    public InstanceOptions InstanceOptions() => new() { TopK = TopK, ThingClassesOnly = ThingClassesOnly, ThingClasses = ThingClasses() };

    public SemanticOptions SemanticOptions() => new() { PostProcessBeforeInference = PostProcessBeforeInference };

    public MmDetectionOptions MmDetectionOptions() => new()
    {
        ObjectMaskThreshold = ObjectMaskThreshold,
        IouThreshold = OverlapThreshold,
        FilterLowScore = FilterLowScore,
        MaxPerImage = TopK,
        ThingClasses = ThingClasses(),
    };

    /// <summary>Panoptic post-processing in the mode of these settings, as segment ids 1 … n.</summary>
    public PanopticResult Panoptic(in Mask2FormerLogits logits, ImageGeometry geometry) => PostProcessing == PostProcessingMode.MmDetection
        ? MmDetectionPostProcessor.Panoptic(logits, geometry, MmDetectionOptions()).ToPanopticResult()
        : Mask2FormerPostProcessor.Panoptic(logits, geometry, PanopticOptions());

    /// <summary>Instance post-processing in the mode of these settings (mmdetection: things only, <c>max_per_image</c> = top-k).</summary>
    public InstanceResult Instances(in Mask2FormerLogits logits, ImageGeometry geometry) => PostProcessing == PostProcessingMode.MmDetection
        ? MmDetectionPostProcessor.Instances(logits, geometry, MmDetectionOptions())
        : Mask2FormerPostProcessor.Instances(logits, geometry, InstanceOptions());

    public double[] ToConfig() =>
    [
        LayoutVersion, InputHeight, InputWidth, Mean[0], Mean[1], Mean[2], Std[0], Std[1], Std[2],
        ObjectMaskThreshold, OverlapThreshold, TopK, ThingClassesOnly ? 1 : 0, PostProcessBeforeInference ? 1 : 0,
        NumClasses, MaskHeight, MaskWidth, PostProcessingModes.ToCode(PostProcessing, FilterLowScore),
    ];

    /// <summary>Category id and thing flag of every class: [id_0 … id_{K−1}, thing_0 … thing_{K−1}].</summary>
    public double[] ToLabels()
    {
        var result = new double[2 * Labels.Length];
        for (var i = 0; i < Labels.Length; i++)
        {
            result[i] = Labels[i].Id;
            result[Labels.Length + i] = Labels[i].IsThing ? 1 : 0;
        }
        return result;
    }

    /// <summary>Reads the settings back from the two columns; <paramref name="withLabels"/> false skips the labels (pre-processing needs none).</summary>
    public static ScoringSettings FromColumns(ReadOnlySpan<double> config, ReadOnlySpan<double> labels, bool withLabels = true)
    {
        if (config.Length != ConfigLength || config[0] != LayoutVersion)
            throw new InvalidOperationException($"the m2f.Config column holds {config.Length} values (version {(config.Length > 0 ? config[0] : double.NaN)}); this library reads {ConfigLength} (version {LayoutVersion}). Was the model saved by another version?");
        var k = (int)config[14];
        if (withLabels && labels.Length != 2 * k)
            throw new InvalidOperationException($"the m2f.Labels column holds {labels.Length} values; {k} classes need {2 * k}.");
        // Slot 17 was always 0 before it named the post-processing: older models read as detectron2.
        var (postProcessing, filterLowScore) = PostProcessingModes.FromCode(config[17]);
        var list = ImmutableArray.CreateBuilder<Mask2FormerLabel>(withLabels ? k : 0);
        if (withLabels)
            for (var i = 0; i < k; i++) list.Add(new Mask2FormerLabel((int)labels[i], "", labels[k + i] != 0));
        return new ScoringSettings
        {
            InputHeight = (int)config[1],
            InputWidth = (int)config[2],
            Mean = [config[3], config[4], config[5]],
            Std = [config[6], config[7], config[8]],
            ObjectMaskThreshold = config[9],
            OverlapThreshold = config[10],
            TopK = (int)config[11],
            ThingClassesOnly = config[12] != 0,
            PostProcessBeforeInference = config[13] != 0,
            NumClasses = k,
            MaskHeight = (int)config[15],
            MaskWidth = (int)config[16],
            PostProcessing = postProcessing,
            FilterLowScore = filterLowScore,
            Labels = list.MoveToImmutable(),
        };
    }

    /// <summary>Resolves options against the model: explicit options, then the model's metadata, then defaults.</summary>
    public static ScoringSettings Resolve(SegmentationOptions options, OnnxModelDescription model, string source, bool requireFixedSize)
    {
        (int Height, int Width)? size = null;
        if (model.FixedInputSize is { } fixedSize)
        {
            if (options.InputHeight is { } h && h != fixedSize.Height || options.InputWidth is { } w && w != fixedSize.Width)
                throw new ArgumentException($"{source} has a fixed input of {fixedSize.Height}×{fixedSize.Width}; the options ask for {options.InputHeight?.ToString() ?? "?"}×{options.InputWidth?.ToString() ?? "?"}.");
            size = fixedSize;
        }
        else if (options.InputHeight is { } h && options.InputWidth is { } w)
        {
            if (h < 32 || w < 32) throw new ArgumentException($"the input size must be at least 32×32; found {h}×{w}.");
            if (model.InputDims[2] > 0 && model.InputDims[2] != h || model.InputDims[3] > 0 && model.InputDims[3] != w)
                throw new ArgumentException($"{source} fixes one input dimension ({string.Join("×", model.InputDims)}); the options ask for {h}×{w}.");
            size = (h, w);
        }
        else if (options.InputHeight is not null || options.InputWidth is not null)
            throw new ArgumentException("set both InputHeight and InputWidth, or neither.");
        else size = model.MetadataFixedSize();
        if (size is null && requireFixedSize)
            throw new ArgumentException($"{source} has a dynamic input size ({string.Join("×", model.InputDims.Select(d => d > 0 ? d.ToString() : "?"))}) and no fixed size in its metadata: set InputHeight and InputWidth (an ML.NET pipeline feeds one fixed size), or use Mask2FormerPredictor for full-resolution inference.");

        var labels = options.Labels ?? model.MetadataLabels(source);
        int k;
        if (model.NumClasses is { } modelK)
        {
            k = modelK;
            if (labels is not null && labels.Count != k)
                throw new ArgumentException($"the label set has {labels.Count} entries but {source} has {k} classes (class_queries_logits has {k + 1} = K + 1 values per query){(options.Labels is null ? " (labels from its m2f.labels metadata)" : "")}.");
        }
        else k = labels?.Count ?? throw new ArgumentException($"{source} leaves the class count open (class_queries_logits {string.Join("×", model.ClassDims)}): give Labels.");
        labels ??= Mask2FormerLabelSet.Default(k);
        if (labels.Select(l => l.Id).Distinct().Count() != labels.Count)
            throw new ArgumentException("the label set has duplicate category ids.");

        var mean = Triple(options.Mean, nameof(options.Mean)) ?? model.MetadataTriple("m2f.mean", source) ?? ImageNetMean;
        var std = Triple(options.Std, nameof(options.Std)) ?? model.MetadataTriple("m2f.std", source) ?? ImageNetStd;
        if (std.Any(s => !(s > 0) || double.IsInfinity(s))) throw new ArgumentException($"the standard deviations must be positive; found {string.Join(", ", std)}.");
        if (mean.Any(m => !double.IsFinite(m))) throw new ArgumentException($"the means must be finite; found {string.Join(", ", mean)}.");

        double objectThreshold = 0.8, overlapThreshold = 0.8;
        int topK = 100;
        bool thingOnly = false, before = false;
        (PostProcessingMode Mode, bool FilterLowScore) postProcessing = (PostProcessingMode.Detectron2, false);
        switch (options)
        {
            case SegmentPanopticOptions p:
                objectThreshold = p.ObjectMaskThreshold ?? model.MetadataNumber("m2f.object_mask_threshold", source) ?? 0.8;
                overlapThreshold = p.OverlapThreshold ?? model.MetadataNumber("m2f.overlap_threshold", source) ?? 0.8;
                if (!double.IsFinite(objectThreshold) || !double.IsFinite(overlapThreshold))
                    throw new ArgumentException("the thresholds must be finite numbers.");
                postProcessing = PostProcessingModes.Resolve(p.PostProcessing, p.FilterLowScore, model, source);
                break;
            case SegmentInstancesOptions i:
                if (i.TopK < 1) throw new ArgumentException($"TopK must be at least 1; found {i.TopK}.");
                topK = i.TopK;
                thingOnly = i.ThingClassesOnly;
                postProcessing = PostProcessingModes.Resolve(i.PostProcessing, null, model, source);
                break;
            case SegmentSemanticOptions s:
                before = s.PostProcessBeforeInference;
                break;
            case Mask2FormerPredictorOptions m:
                objectThreshold = m.ObjectMaskThreshold ?? model.MetadataNumber("m2f.object_mask_threshold", source) ?? 0.8;
                overlapThreshold = m.OverlapThreshold ?? model.MetadataNumber("m2f.overlap_threshold", source) ?? 0.8;
                if (!double.IsFinite(objectThreshold) || !double.IsFinite(overlapThreshold))
                    throw new ArgumentException("the thresholds must be finite numbers.");
                if (m.TopK < 1) throw new ArgumentException($"TopK must be at least 1; found {m.TopK}.");
                topK = m.TopK;
                thingOnly = m.ThingClassesOnly;
                before = m.PostProcessBeforeInference;
                postProcessing = PostProcessingModes.Resolve(m.PostProcessing, m.FilterLowScore, model, source);
                break;
        }

        var (inputH, inputW) = size ?? (0, 0);
        return new ScoringSettings
        {
            InputHeight = inputH,
            InputWidth = inputW,
            Mean = mean,
            Std = std,
            ObjectMaskThreshold = objectThreshold,
            OverlapThreshold = overlapThreshold,
            TopK = topK,
            ThingClassesOnly = thingOnly,
            PostProcessBeforeInference = before,
            NumClasses = k,
            PostProcessing = postProcessing.Mode,
            FilterLowScore = postProcessing.FilterLowScore,
            MaskHeight = model.MaskDims[2] > 0 && size is not null ? model.MaskDims[2] : 0,
            MaskWidth = model.MaskDims[3] > 0 && size is not null ? model.MaskDims[3] : 0,
            Labels = [.. labels],
        };
    }

    private static double[]? Triple(IReadOnlyList<double>? values, string name)
    {
        if (values is null) return null;
        if (values.Count != 3) throw new ArgumentException($"{name} needs 3 values (R, G, B); found {values.Count}.");
        return [.. values];
    }
}
