using System.CommandLine;
using Microsoft.ML.Mask2Former.Scoring;
using Microsoft.ML.Mask2Former.Training.Export;
using Microsoft.ML.Mask2Former.Training.Modeling;

namespace Mask2Former.Cli.Commands;

/// <summary>
/// The options of commands that run a model over images (<c>m2f test</c>): which model, how images
/// are sized, whose post-processing with which thresholds, how many threads; and the predictor
/// they make. A model is an ONNX file, or a model folder (ours, Hugging Face's or mmdetection's),
/// exported in memory with dynamic size.
/// </summary>
internal sealed class PredictorOptionSet
{
    public Option<string> Model { get; } = new("--model")
    {
        Description = "A Mask2Former ONNX model, or a model folder (config.json + model.safetensors, or an mmdetection config.json + checkpoint.pth), exported in memory.",
        Required = true,
    };

    public Option<FileInfo?> Labels { get; } = new("--labels")
    {
        Description = "Label set JSON {\"labels\": [{\"id\", \"name\", \"isthing\"}], \"object_mask_threshold\"?, \"overlap_threshold\"?}; entry i describes logit i (default: the model's own).",
    };

    public Option<string?> InputSize { get; } = new("--input-size")
    {
        Description = "Letterbox every image to HxW (default: the model's fixed size, else full resolution by --shortest-edge / --max-size).",
    };

    public Option<int> ShortestEdge { get; } = new("--shortest-edge") { Description = "Full-resolution inference: the shorter side (detectron2's and mmdetection's test scale).", DefaultValueFactory = _ => 800 };

    public Option<int> MaxSize { get; } = new("--max-size") { Description = "Full-resolution inference: the longest the longer side may be.", DefaultValueFactory = _ => 1333 };

    public Option<string?> PostProcessing { get; } = new("--post-processing")
    {
        Description = "Whose post-processing to reproduce: d2 (detectron2's Mask2Former) or mmdet (mmdetection's MaskFormerFusionHead). Default: the model's m2f.post_processing metadata, else d2.",
    };

    public Option<bool?> FilterLowScore { get; } = new("--filter-low-score")
    {
        Description = "With mmdet: keep only segment pixels whose own mask probability is at least 0.5 (mmdetection's test_cfg filter_low_score). Default: the model's metadata, else false.",
    };

    public Option<double?> ObjectMaskThreshold { get; } = new("--object-mask-threshold") { Description = "Panoptic: the class probability a query needs (default: the model's metadata, else 0.8)." };

    public Option<double?> OverlapThreshold { get; } = new("--overlap-threshold") { Description = "Panoptic: the visible fraction a segment needs (default: the model's metadata, else 0.8)." };

    public Option<int?> Threads { get; } = new("--threads") { Description = "ONNX Runtime intra-op threads (default: ONNX Runtime's choice)." };

    public IEnumerable<Option> All => [Model, Labels, InputSize, ShortestEdge, MaxSize, PostProcessing, FilterLowScore, ObjectMaskThreshold, OverlapThreshold, Threads];

    /// <summary>The predictor's options; a model folder is exported here (dynamic size, its categories in the metadata).</summary>
    /// <param name="parse">The parsed command line.</param>
    /// <param name="files">The files the model was read from (for fingerprints).</param>
    public Mask2FormerPredictorOptions Build(ParseResult parse, out IReadOnlyList<string> files)
    {
        var model = parse.GetValue(Model)!;
        var options = new Mask2FormerPredictorOptions
        {
            ShortestEdge = parse.GetValue(ShortestEdge),
            MaxSize = parse.GetValue(MaxSize),
            IntraOpNumThreads = parse.GetValue(Threads),
            ObjectMaskThreshold = parse.GetValue(ObjectMaskThreshold),
            OverlapThreshold = parse.GetValue(OverlapThreshold),
            FilterLowScore = parse.GetValue(FilterLowScore),
            // Instances beside panoptic results are things only, as detectron2 (panoptic on) and mmdetection report them.
            ThingClassesOnly = true,
        };
        if (Directory.Exists(model))
        {
            files = Directory.EnumerateFiles(model).Where(f => Path.GetFileName(f) is "config.json" or "labels.json" or "model.safetensors" or "checkpoint.pth")
                .Order(StringComparer.Ordinal).ToArray();
            using var network = Mask2FormerForUniversalSegmentation.FromPretrained(model);
            options.ModelBytes = Mask2FormerOnnxExporter.ExportToBytes(network);
        }
        else if (File.Exists(model))
        {
            files = [model];
            options.ModelPath = model;
        }
        else
        {
            throw new FileNotFoundException($"--model: no ONNX file or model folder at '{model}'", model);
        }
        if (parse.GetValue(Labels) is { } labelFile)
        {
            options.Labels = Mask2FormerLabelSet.Load(labelFile.FullName, out var objectThreshold, out var overlapThreshold);
            options.ObjectMaskThreshold ??= objectThreshold;
            options.OverlapThreshold ??= overlapThreshold;
        }
        if (parse.GetValue(PostProcessing) is { } mode)
            options.PostProcessing = PostProcessingModes.Parse(mode) ?? throw new ArgumentException($"--post-processing must be d2 or mmdet; found '{mode}'");
        if (parse.GetValue(InputSize) is { } size)
            (options.InputHeight, options.InputWidth) = CliArguments.ParseSize(size, "--input-size");
        return options;
    }
}
