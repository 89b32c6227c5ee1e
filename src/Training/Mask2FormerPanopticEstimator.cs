using Microsoft.ML.Mask2Former.Data;
using Microsoft.ML.Mask2Former.Scoring;
using Microsoft.ML.Mask2Former.Training.Export;

namespace Microsoft.ML.Mask2Former.Training;

/// <summary>
/// Trains Mask2Former in an ML.NET pipeline: <see cref="Fit"/> takes the COCO panoptic data view of
/// <c>mlContext.Data.LoadFromCocoPanoptic(json, pngFolder, imageFolder)</c>, trains the TorchSharp
/// network (<see cref="Mask2FormerTrainer"/>), exports it to ONNX at the training image size, and
/// returns the scoring transformer <c>LoadImages → SegmentPanoptic</c>. Its predictions
/// (<c>PredictedSegmentMap</c>, <c>PredictedSegmentIds</c>, <c>PredictedCategoryIds</c>, … of
/// <see cref="PanopticColumnNames"/>) stand beside the ground truth, so
/// <c>mlContext.PanopticSegmentation().Evaluate(scored, data.Categories)</c> needs no column names.
/// </summary>
public sealed class Mask2FormerPanopticEstimator : IEstimator<ITransformer>
{
    private readonly MLContext _mlContext;
    private readonly IProgress<TrainingProgress>? _progress;

    /// <summary>Creates the estimator.</summary>
    /// <param name="mlContext">The context the scoring pipeline is built in.</param>
    /// <param name="options">Every training setting (network, steps, batch, image size, schedule, output folder, ...).</param>
    /// <param name="onnxPath">Where the trained model's ONNX file goes; default <c>model.onnx</c> in the options' output folder, else a temporary file.</param>
    /// <param name="progress">Receives training progress.</param>
    public Mask2FormerPanopticEstimator(MLContext mlContext, Mask2FormerTrainerOptions options, string? onnxPath = null, IProgress<TrainingProgress>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        ArgumentNullException.ThrowIfNull(options);
        _mlContext = mlContext;
        Options = options;
        OnnxPath = onnxPath ?? Path.Combine(options.OutputFolder ?? Path.Combine(Path.GetTempPath(), "m2f-" + Guid.NewGuid().ToString("N")), "model.onnx");
        _progress = progress;
    }

    /// <summary>The training settings.</summary>
    public Mask2FormerTrainerOptions Options { get; }

    /// <summary>Where <see cref="Fit"/> writes the exported model.</summary>
    public string OnnxPath { get; }

    /// <summary>
    /// The summary of the last <see cref="Fit"/> (steps, losses, validation PQ), or <see langword="null"/> before it.
    /// Its <see cref="Mask2FormerTrainingResult.Network"/> is already disposed: the trained weights live on in
    /// the ONNX file and in the options' output folder (config.json, model.safetensors).
    /// </summary>
    public Mask2FormerTrainingResult? LastResult { get; private set; }

    /// <summary>Trains on the rows of a COCO panoptic data view and returns the scoring transformer.</summary>
    /// <param name="input">The view of <c>mlContext.Data.LoadFromCocoPanoptic</c>, made with an image folder.</param>
    /// <exception cref="ArgumentException">The input is not a COCO panoptic data view with images.</exception>
    public ITransformer Fit(IDataView input)
    {
        var view = Check(input);
        var trainer = new Mask2FormerTrainer(Options);
        LastResult = trainer.Fit(view.Dataset.Source, view.ImageFolder!, view.PngFolder, _progress);
        using (LastResult.Network)
        {
            Mask2FormerOnnxExporter.Export(LastResult.Network, OnnxPath, new OnnxExportOptions
            {
                // The size validation letterboxes to, so the pipeline's PQ is the validation PQ.
                FixedHeight = Options.ValidationImageSize ?? Options.ImageSize,
                FixedWidth = Options.ValidationImageSize ?? Options.ImageSize,
                Mean = Options.PixelMean.Select(v => v / 255).ToArray(),
                Std = Options.PixelStd.Select(v => v / 255).ToArray(),
                ObjectMaskThreshold = Options.ValidationObjectMaskThreshold,
            });
        }
        return Scoring().Fit(input);
    }

    /// <summary>The input must carry the data view's columns; the output adds the scoring columns (known once the model exists).</summary>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        foreach (var name in new[] { PanopticColumnNames.ImagePath, PanopticColumnNames.SegmentMap, PanopticColumnNames.SegmentIds, PanopticColumnNames.CategoryIds })
        {
            if (!inputSchema.Any(c => c.Name == name))
                throw new ArgumentOutOfRangeException(nameof(inputSchema), $"the input has no column '{name}'; train on the view of mlContext.Data.LoadFromCocoPanoptic(json, pngFolder, imageFolder)");
        }
        return File.Exists(OnnxPath) ? Scoring().GetOutputSchema(inputSchema) : inputSchema;
    }

    private IEstimator<ITransformer> Scoring()
    {
        var t = _mlContext.Transforms;
        return t.LoadImages(PanopticColumnNames.Image, null, PanopticColumnNames.ImagePath)
            .Append(t.SegmentPanoptic(new SegmentPanopticOptions { ModelPath = OnnxPath, ObjectMaskThreshold = Options.ValidationObjectMaskThreshold }));
    }

    private static CocoPanopticDataView Check(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input is not CocoPanopticDataView view)
            throw new ArgumentException($"Mask2Former trains on the view of mlContext.Data.LoadFromCocoPanoptic(json, pngFolder, imageFolder); got a {input.GetType().Name}", nameof(input));
        if (view.ImageFolder is null)
            throw new ArgumentException("the COCO panoptic view has no image folder: pass imageFolder to LoadFromCocoPanoptic", nameof(input));
        if (!File.Exists(view.Dataset.Source))
            throw new ArgumentException($"the COCO panoptic view must come from a JSON file (its source is '{view.Dataset.Source}')", nameof(input));
        return view;
    }
}
