using Microsoft.ML.Data;
using Microsoft.ML.Mask2Former.PostProcessing;
using Microsoft.ML.OnnxRuntime;

namespace Microsoft.ML.Mask2Former.Scoring;

/// <summary>
/// Runs a Mask2Former ONNX model with ONNX Runtime directly, outside ML.NET, through the same
/// pre- and post-processing as the pipeline. A dynamic-size model runs at full resolution as the
/// paper evaluates it (shorter side 800, longer at most 1333, padded to a multiple of 32); a
/// fixed-size model (or one given <see cref="SegmentationOptions.InputHeight"/>/<see cref="SegmentationOptions.InputWidth"/>)
/// gets the pipeline's letterbox. Thread-safe: one predictor serves many threads.
/// </summary>
public sealed class Mask2FormerPredictor : IDisposable
{
    private readonly InferenceSession _session;
    private readonly OnnxModelDescription _description;
    private readonly ScoringSettings _settings;
    private readonly Mask2FormerPredictorOptions _options;
    private long _imagesWithNonFiniteLogits;
    private long _nonFiniteLogits;

    /// <summary>Loads the model named by <paramref name="options"/> (path or bytes).</summary>
    /// <exception cref="InvalidOperationException">The file is not a Mask2Former ONNX model (the message names what was expected and found).</exception>
    /// <exception cref="ArgumentException">The options contradict the model.</exception>
    /// <exception cref="NotSupportedException">A GPU was asked for, CUDA does not start and <see cref="SegmentationOptions.FallbackToCpu"/> is not set (the message names what is missing).</exception>
    public Mask2FormerPredictor(Mask2FormerPredictorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.ShortestEdge < 1 || options.MaxSize < options.ShortestEdge || options.SizeDivisibility < 1)
            throw new ArgumentException($"need 1 ≤ ShortestEdge ≤ MaxSize and SizeDivisibility ≥ 1; found {options.ShortestEdge}, {options.MaxSize}, {options.SizeDivisibility}.");
        var model = options.ReadModel(out var source);
        _options = options;
        _session = CreateSession(model, options, source, out var gpuFallbackReason);
        GpuFallbackReason = gpuFallbackReason;
        try
        {
            _description = OnnxModelDescription.Describe(_session, source);
            _settings = ScoringSettings.Resolve(options, _description, source, requireFixedSize: false);
        }
        catch
        {
            _session.Dispose();
            throw;
        }
    }

    /// <summary>Loads a model file with default options.</summary>
    public Mask2FormerPredictor(string modelPath) : this(new Mask2FormerPredictorOptions { ModelPath = modelPath })
    {
    }

    /// <summary>The label set in effect (entry i describes class logit i; results' class indices point here).</summary>
    public IReadOnlyList<Mask2FormerLabel> Labels => _settings.Labels;

    /// <summary>
    /// Why the GPU asked for by <see cref="SegmentationOptions.GpuDeviceId"/> is not used (CUDA did not
    /// start and <see cref="SegmentationOptions.FallbackToCpu"/> let the model run on the CPU), or
    /// <see langword="null"/> when the model runs where it was asked to.
    /// </summary>
    public string? GpuFallbackReason { get; }

    /// <summary>Whether images are letterboxed to a fixed size (else resized by the shortest-edge rule).</summary>
    public bool IsFixedSize => _settings.InputHeight > 0;

    internal ScoringSettings Settings => _settings;

    /// <summary>How many images so far got NaN or infinite logits from the model (post-processing drops those queries or pixels).</summary>
    internal long ImagesWithNonFiniteLogits => Interlocked.Read(ref _imagesWithNonFiniteLogits);

    /// <summary>How many NaN or infinite logits the model gave so far, over all images.</summary>
    internal long NonFiniteLogits => Interlocked.Read(ref _nonFiniteLogits);

    /// <summary>Panoptic segmentation of one image at its own size. Segment categories are class indices into <see cref="Labels"/>.</summary>
    public PanopticResult PredictPanoptic(MLImage image)
    {
        var (classes, masks, geometry, settings) = Run(image);
        return _settings.Panoptic(ScoringCore.Logits(classes, masks, settings, geometry.PaddedHeight, geometry.PaddedWidth), geometry);
    }

    /// <summary>Instance segmentation of one image at its own size. Class ids are indices into <see cref="Labels"/>.</summary>
    public InstanceResult PredictInstances(MLImage image)
    {
        var (classes, masks, geometry, settings) = Run(image);
        return _settings.Instances(ScoringCore.Logits(classes, masks, settings, geometry.PaddedHeight, geometry.PaddedWidth), geometry);
    }

    /// <summary>Semantic segmentation of one image at its own size.</summary>
    public SemanticResult PredictSemantic(MLImage image)
    {
        var (classes, masks, geometry, settings) = Run(image);
        return Mask2FormerPostProcessor.Semantic(ScoringCore.Logits(classes, masks, settings, geometry.PaddedHeight, geometry.PaddedWidth), geometry, _settings.SemanticOptions());
    }

    /// <summary>
    /// Panoptic and instance segmentation (and semantic, when <paramref name="semantic"/>) of one
    /// image from a single forward pass.
    /// </summary>
    public Mask2FormerPrediction Predict(MLImage image, bool semantic = false)
    {
        var (classes, masks, geometry, settings) = Run(image);
        var logits = ScoringCore.Logits(classes, masks, settings, geometry.PaddedHeight, geometry.PaddedWidth);
        return new Mask2FormerPrediction(_settings.Panoptic(logits, geometry), _settings.Instances(logits, geometry),
            semantic ? Mask2FormerPostProcessor.Semantic(logits, geometry, _settings.SemanticOptions()) : null);
    }

    /// <summary>Pre-processes and runs the model: the logits of one image, where it sat in the input, and the settings of that input size.</summary>
    internal (float[] ClassLogits, float[] MaskLogits, ImageGeometry Geometry, ScoringSettings Settings) Run(MLImage image)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (image.Width < 1 || image.Height < 1) throw new ArgumentException($"the image is {image.Width}×{image.Height}.", nameof(image));
        var rgb = ImagePreprocessor.ReadRgb(image);
        int height = image.Height, width = image.Width;
        ScoringSettings settings;
        int resizedH, resizedW;
        if (IsFixedSize)
        {
            settings = _settings;
            (resizedH, resizedW) = ImagePreprocessor.LetterboxSize(height, width, settings.InputHeight, settings.InputWidth);
        }
        else
        {
            (resizedH, resizedW) = ImagePreprocessor.ShortestEdgeSize(height, width, _options.ShortestEdge, _options.MaxSize);
            settings = new ScoringSettings
            {
                InputHeight = ImagePreprocessor.PadTo(resizedH, _options.SizeDivisibility),
                InputWidth = ImagePreprocessor.PadTo(resizedW, _options.SizeDivisibility),
                Mean = _settings.Mean,
                Std = _settings.Std,
                NumClasses = _settings.NumClasses,
                Labels = _settings.Labels,
            };
        }
        var pixels = new float[3 * settings.InputHeight * settings.InputWidth];
        ImagePreprocessor.ResizeNormalize(rgb, height, width, resizedH, resizedW, pixels, settings.InputHeight, settings.InputWidth, settings.Mean, settings.Std);
        var (classes, masks) = RunTensor(pixels, settings.InputHeight, settings.InputWidth);
        var nonFinite = NonFiniteValues.Count(classes) + NonFiniteValues.Count(masks);
        if (nonFinite > 0)
        {
            Interlocked.Increment(ref _imagesWithNonFiniteLogits);
            Interlocked.Add(ref _nonFiniteLogits, nonFinite);
        }
        return (classes, masks, new ImageGeometry(settings.InputHeight, settings.InputWidth, resizedH, resizedW, height, width), settings);
    }

    /// <summary>Runs the network on a normalised [1, 3, H, W] tensor.</summary>
    internal (float[] ClassLogits, float[] MaskLogits) RunTensor(float[] pixelValues, int height, int width)
    {
        using var input = OrtValue.CreateTensorValueFromMemory(pixelValues, [1, 3, height, width]);
        using var runOptions = new RunOptions();
        using var outputs = _session.Run(runOptions, [_description.InputName], [input], [OnnxModelDescription.ClassLogits, OnnxModelDescription.MaskLogits]);
        return (outputs[0].GetTensorDataAsSpan<float>().ToArray(), outputs[1].GetTensorDataAsSpan<float>().ToArray());
    }

    /// <summary>Releases the ONNX Runtime session.</summary>
    public void Dispose() => _session.Dispose();

    private static InferenceSession CreateSession(byte[] model, SegmentationOptions options, string source, out string? gpuFallbackReason)
    {
        var device = GpuExecution.Choose(options, source, out gpuFallbackReason);
        try
        {
            if (device is { } gpu)
            {
                try
                {
                    using var cuda = SessionOptionsFor(gpu, options);
                    return new InferenceSession(model, cuda);
                }
                // CUDA loaded, yet the session did not start on that device (an index beyond the devices present, no driver).
                catch (OnnxRuntimeException e) when (options.FallbackToCpu)
                {
                    gpuFallbackReason = GpuExecution.FallBack(gpu, source, e.Message);
                }
            }
            using var cpu = SessionOptionsFor(null, options);
            return new InferenceSession(model, cpu);
        }
        catch (OnnxRuntimeException e)
        {
            throw new InvalidOperationException($"{source} is not a loadable ONNX model: {e.Message}", e);
        }
    }

    private static SessionOptions SessionOptionsFor(int? gpu, SegmentationOptions options)
    {
        var o = gpu is { } device ? SessionOptions.MakeSessionOptionWithCudaProvider(device) : new SessionOptions();
        return OnnxSessionSettings.Apply(o, options.IntraOpNumThreads);
    }
}
