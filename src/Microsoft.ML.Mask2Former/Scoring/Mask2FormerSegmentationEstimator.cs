using Microsoft.ML.Data;
using Microsoft.ML.Mask2Former.Data;
using Microsoft.ML.Transforms.Image;
using Microsoft.ML.Transforms.Onnx;

namespace Microsoft.ML.Mask2Former.Scoring;

/// <summary>
/// Scores a Mask2Former ONNX model inside an ML.NET pipeline: an image column in, segmentation
/// columns (the <c>Predicted*</c> names of <see cref="PanopticColumnNames"/>) out. Created by
/// <c>mlContext.Transforms.SegmentPanoptic</c>, <c>SegmentInstances</c> or <c>SegmentSemantic</c>.
/// </summary>
/// <remarks>
/// <para>
/// The model is inspected when the estimator is created: a model without the input
/// <c>pixel_values</c> [N, 3, H, W] and the outputs <c>class_queries_logits</c> [N, Q, K+1] and
/// <c>masks_queries_logits</c> [N, Q, h, w], or whose class count differs from the label set, is
/// refused then, with what was expected and what was found.
/// </para>
/// <para>
/// <see cref="Fit"/> returns a chain of stock ML.NET transformers only (column copies, custom
/// mappings with registered factories and two <c>ApplyOnnxModel</c> transformers, one of them a
/// generated model carrying the settings), so <c>mlContext.Model.Save</c> / <c>Load</c> round-trip
/// it with nothing outside the zip. Scoring is lazy, row by row; a <c>PredictionEngine</c> per
/// thread scores in parallel, provided the engines do not own the model
/// (<see cref="SegmentationEnginePool{TSrc, TDst}"/> pools them; see there why).
/// </para>
/// </remarks>
public sealed class Mask2FormerSegmentationEstimator : IEstimator<ITransformer>
{
    private readonly IReadOnlyList<IEstimator<ITransformer>> _stages;
    private readonly IEstimator<ITransformer> _schemaChain;
    private readonly string _imageColumn;

    internal Mask2FormerSegmentationEstimator(TransformsCatalog catalog, SegmentationOptions options, SegmentationTask task)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrEmpty(options.ImageColumnName)) throw new ArgumentException("ImageColumnName must be set.", nameof(options));
        var model = options.ReadModel(out var source);
        var description = OnnxModelDescription.Read(model, source);
        var settings = ScoringSettings.Resolve(options, description, source, requireFixedSize: true);
        Task = task;
        Labels = settings.Labels;
        InputHeight = settings.InputHeight;
        InputWidth = settings.InputWidth;
        _imageColumn = options.ImageColumnName;
        var device = GpuExecution.Choose(options, source, out var gpuFallbackReason);
        GpuFallbackReason = gpuFallbackReason;
        _stages = Build(catalog, options, device, task, model, description, settings, source);
        // ML.NET's schema propagation compares image types by reference, so a custom mapping that
        // reads an image column never passes SchemaShape-level checks (fitting, which checks the
        // real schema, is fine). Propagation goes through a stand-in that adds the same columns.
        IEstimator<ITransformer> schemaChain = _stages[0].Append(catalog.CustomMapping<NoColumns, DecodedRow>((_, _) => { }, null));
        for (var i = 2; i < _stages.Count; i++) schemaChain = schemaChain.Append(_stages[i]);
        _schemaChain = schemaChain;
    }

    /// <summary>What the pipeline produces.</summary>
    public SegmentationTask Task { get; }

    /// <summary>The label set in effect (entry i describes class logit i).</summary>
    public IReadOnlyList<Mask2FormerLabel> Labels { get; }

    /// <summary>
    /// Why the GPU asked for by <see cref="SegmentationOptions.GpuDeviceId"/> is not used (CUDA did not
    /// start and <see cref="SegmentationOptions.FallbackToCpu"/> let the model run on the CPU), or
    /// <see langword="null"/> when it was not asked for or CUDA started.
    /// </summary>
    public string? GpuFallbackReason { get; }

    /// <summary>The fixed input height images are letterboxed to.</summary>
    public int InputHeight { get; }

    /// <summary>The fixed input width images are letterboxed to.</summary>
    public int InputWidth { get; }

    /// <summary>Builds the scoring chain for the data (nothing is trained).</summary>
    public ITransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var column = input.Schema.GetColumnOrNull(_imageColumn);
        CheckImageColumn(column is { } c ? (c.Type, true) : null, () => string.Join(", ", input.Schema.Select(x => x.Name)));
        var transformers = new ITransformer[_stages.Count];
        var current = input;
        for (var i = 0; i < _stages.Count; i++)
        {
            transformers[i] = _stages[i].Fit(current);
            current = transformers[i].Transform(current);
        }
        return new TransformerChain<ITransformer>(transformers);
    }

    /// <summary>The schema after scoring; the input must hold the image column.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The image column is missing or not an image.</exception>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        var found = inputSchema.LastOrDefault(c => c.Name == _imageColumn);
        CheckImageColumn(found.Name is null ? null : (found.ItemType, found.Kind == SchemaShape.Column.VectorKind.Scalar),
            () => string.Join(", ", inputSchema.Select(c => c.Name)));
        return _schemaChain.GetOutputSchema(inputSchema);
    }

    private void CheckImageColumn((DataViewType Type, bool IsScalar)? column, Func<string> columns)
    {
        if (column is not { } c)
            throw new ArgumentOutOfRangeException("inputSchema",
                $"the input has no column '{_imageColumn}' (expected an image column, as LoadImages produces); found: {columns()}.");
        if (!c.IsScalar || c.Type is not ImageDataViewType imageType)
            throw new ArgumentOutOfRangeException("inputSchema",
                $"column '{_imageColumn}' must be an image (MLImage, as LoadImages produces); found {c.Type}.");
        if (imageType.Height != 0 || imageType.Width != 0)
            throw new ArgumentOutOfRangeException("inputSchema",
                $"column '{_imageColumn}' is an image of declared size {imageType.Height}×{imageType.Width}; expected an image of unspecified size as LoadImages produces (the pipeline letterboxes to {InputHeight}×{InputWidth} itself; leave out ResizeImages).");
    }

    /// <summary>The stages, in order; the first two are the image copy and the decoding (see the constructor).</summary>
    private static List<IEstimator<ITransformer>> Build(TransformsCatalog catalog, SegmentationOptions options, int? gpuDeviceId, SegmentationTask task,
        byte[] model, OnnxModelDescription description, ScoringSettings settings, string source)
    {
        var settingsModel = SettingsModel.Create(settings, task.ToString().ToLowerInvariant());
        var stages = new List<IEstimator<ITransformer>>
        {
            catalog.CopyColumns(ScoringColumns.Image, options.ImageColumnName),
            catalog.CustomMapping<DecodeRow, DecodedRow>(ScoringMappings.Decode, ScoringMappings.DecodeContract),
            catalog.ApplyOnnxModel([ScoringColumns.Config, ScoringColumns.Labels], [ScoringColumns.Size], new MemoryStream(settingsModel),
                (IDictionary<string, int[]>?)null, null, false),
            catalog.CustomMapping<LetterboxRow, PixelValuesRow>(ScoringMappings.Letterbox, ScoringMappings.LetterboxContract),
        };
        if (description.InputName != ScoringColumns.PixelValues)
            stages.Add(catalog.CopyColumns(description.InputName, ScoringColumns.PixelValues));
        try
        {
            stages.Add(ModelStage(catalog, options, gpuDeviceId, model, description, settings));
        }
        // The description was read from the bytes alone; ONNX Runtime sees the model first here.
        catch (InvalidOperationException e) when (e.InnerException is OnnxRuntime.OnnxRuntimeException ort)
        {
            throw new InvalidOperationException($"{source} is not a loadable ONNX model: {ort.Message}", e);
        }
        stages.Add(task switch
        {
            SegmentationTask.Panoptic => catalog.CustomMapping<LogitsRow, PanopticRow>(ScoringMappings.Panoptic, ScoringMappings.PanopticContract),
            SegmentationTask.Instances => catalog.CustomMapping<LogitsRow, InstancesRow>(ScoringMappings.Instances, ScoringMappings.InstancesContract),
            _ => catalog.CustomMapping<LogitsRow, SemanticRow>(ScoringMappings.Semantic, ScoringMappings.SemanticContract),
        });
        if (!string.IsNullOrEmpty(options.OutputColumnPrefix))
        {
            var names = OutputNames(task);
            foreach (var n in names) stages.Add(catalog.CopyColumns(options.OutputColumnPrefix + n, n));
            stages.Add(catalog.DropColumns(names));
        }
        return stages;
    }

    /// <summary>
    /// The <c>ApplyOnnxModel</c> step of the network: a variable-length <c>pixel_values</c> column fed
    /// as [1, 3, H, W], on <paramref name="gpuDeviceId"/> (<see cref="GpuExecution.Choose"/>'s choice) or the CPU.
    /// </summary>
    internal static OnnxScoringEstimator ModelStage(TransformsCatalog catalog, SegmentationOptions options, int? gpuDeviceId, byte[] model,
        OnnxModelDescription description, ScoringSettings settings)
    {
        // ML.NET feeds a variable-length vector only when the shape has exactly one open
        // dimension, which it then computes from the vector's length; the width is left open.
        var shapes = new Dictionary<string, int[]> { [description.InputName] = [1, 3, settings.InputHeight, -1] };
        string[] outputs = [ScoringColumns.ClassLogits, ScoringColumns.MaskLogits];
        string[] inputs = [description.InputName];
        var path = options.ModelPath;
        if (path is null && options.IntraOpNumThreads is not null)
        {
            // Thread settings are reachable only through OnnxOptions, which takes a file. ML.NET
            // reads that file again when the pipeline is saved, so it lives until the process ends.
            path = TemporaryModelFiles.Write(model);
        }
        if (path is not null)
            return catalog.ApplyOnnxModel(new OnnxOptions
            {
                ModelFile = path,
                InputColumns = inputs,
                OutputColumns = outputs,
                ShapeDictionary = shapes,
                GpuDeviceId = gpuDeviceId,
                FallbackToCpu = options.FallbackToCpu,
                IntraOpNumThreads = options.IntraOpNumThreads,
            });
        return catalog.ApplyOnnxModel(outputs, inputs, new MemoryStream(model), shapes, gpuDeviceId, options.FallbackToCpu);
    }

    internal static string[] OutputNames(SegmentationTask task) => task switch
    {
        SegmentationTask.Panoptic =>
        [
            PanopticColumnNames.ImageHeight, PanopticColumnNames.ImageWidth, PanopticColumnNames.PredictedSegmentMap,
            PanopticColumnNames.PredictedSegmentIds, PanopticColumnNames.PredictedCategoryIds, PanopticColumnNames.PredictedIsThing,
            PanopticColumnNames.PredictedScores, PanopticColumnNames.PredictedAreas, PanopticColumnNames.PredictedBoxes,
        ],
        SegmentationTask.Instances =>
        [
            PanopticColumnNames.ImageHeight, PanopticColumnNames.ImageWidth, PanopticColumnNames.PredictedInstanceCategoryIds,
            PanopticColumnNames.PredictedInstanceScores, PanopticColumnNames.PredictedInstanceAreas, PanopticColumnNames.PredictedInstanceBoxes,
            PanopticColumnNames.PredictedInstanceMasks,
        ],
        _ => [PanopticColumnNames.ImageHeight, PanopticColumnNames.ImageWidth, PanopticColumnNames.PredictedSemanticMap],
    };
}
