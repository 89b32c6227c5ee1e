using Microsoft.ML.Mask2Former.Training.Checkpoints;
using Microsoft.ML.Mask2Former.Training.Modeling.ResNet;
using Microsoft.ML.Mask2Former.Training.Modeling.Swin;

namespace Microsoft.ML.Mask2Former.Training.Modeling;

/// <summary>
/// Mask2Former for panoptic, instance and semantic segmentation, with the Hugging Face
/// <c>Mask2FormerForUniversalSegmentation</c> state-dict names: <c>model.*</c>,
/// <c>class_predictor.*</c>, <c>criterion.empty_weight</c>. Input <c>pixel_values</c> [B, 3, H, W]
/// (normalised); outputs class logits [B, Q, K + 1] and mask logits [B, Q, H/4, W/4].
/// </summary>
public sealed class Mask2FormerForUniversalSegmentation : nn.Module<Tensor, Mask2FormerOutput>
{
    private readonly Mask2FormerModel model;
    private readonly Linear class_predictor;
    private readonly ClassWeights criterion;

    /// <summary>Creates the network of <paramref name="config"/> with random weights.</summary>
    /// <exception cref="ArgumentException">The configuration is inconsistent, or its weights would not fit in the memory available.</exception>
    public Mask2FormerForUniversalSegmentation(Mask2FormerConfig config) : base(nameof(Mask2FormerForUniversalSegmentation))
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        ModelSizeEstimate.CheckFits(config);
        Config = config;
        model = new Mask2FormerModel(config);
        class_predictor = nn.Linear(config.HiddenDim, config.NumLabels + 1);
        criterion = new ClassWeights(config);
        RegisterComponents();
        WeightInitialization.Apply(this);
    }

    /// <summary>The configuration the network was built from.</summary>
    public Mask2FormerConfig Config { get; }

    /// <summary>The inner model (backbone, pixel decoder, transformer decoder).</summary>
    public Mask2FormerModel Model => model;

    /// <summary>The classification loss weights (<c>criterion.empty_weight</c>).</summary>
    public ClassWeights Criterion => criterion;

    /// <summary>
    /// Loads a model folder (strict): <c>config.json</c> and <c>model.safetensors</c> (ours / Hugging
    /// Face), or an mmdetection folder — <c>config.json</c> with mmdetection's fields and
    /// <c>checkpoint.pth</c> (see <see cref="MmdetModelFolder"/>).
    /// </summary>
    /// <exception cref="Formats.DataFormatException">A file is malformed.</exception>
    /// <exception cref="CheckpointMismatchException">The weights do not match the configuration.</exception>
    public static Mask2FormerForUniversalSegmentation FromPretrained(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        if (MmdetModelFolder.IsMmdetFolder(directory)) return MmdetModelFolder.Load(directory);
        var configPath = Path.Combine(directory, "config.json");
        var config = Mask2FormerConfig.Load(configPath);
        Mask2FormerForUniversalSegmentation network;
        try
        {
            network = new Mask2FormerForUniversalSegmentation(config);
        }
        catch (ArgumentException e)
        {
            throw new Formats.DataFormatException(e.Message, Path.GetFullPath(configPath), inner: e);
        }
        try
        {
            ModuleCheckpoint.Load(network, Path.Combine(directory, "model.safetensors"));
        }
        catch
        {
            network.Dispose();
            throw;
        }
        network.eval();
        return network;
    }

    /// <summary>Writes <c>config.json</c> and <c>model.safetensors</c> into a folder (loadable by Hugging Face <c>from_pretrained</c>).</summary>
    public void SavePretrained(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        Directory.CreateDirectory(directory);
        Formats.AtomicFile.WriteAllText(Path.Combine(directory, "config.json"), Config.ToJson());
        ModuleCheckpoint.Save(this, Path.Combine(directory, "model.safetensors"));
    }

    /// <inheritdoc/>
    public override Mask2FormerOutput forward(Tensor pixelValues) => forward(pixelValues, false);

    /// <summary>Runs the network; <paramref name="keepEncoderLayers"/> also returns each deformable encoder layer's output.</summary>
    /// <exception cref="ArgumentException"><paramref name="pixelValues"/> is not [B, C, H, W] with the configured channels.</exception>
    public Mask2FormerOutput forward(Tensor pixelValues, bool keepEncoderLayers)
    {
        ArgumentNullException.ThrowIfNull(pixelValues);
        var channels = Config.Backbone switch { SwinConfig s => s.NumChannels, ResNetConfig r => r.NumChannels, _ => 3 };
        if (pixelValues.dim() != 4 || pixelValues.shape[1] != channels || pixelValues.shape[2] < 1 || pixelValues.shape[3] < 1)
            throw new ArgumentException($"pixel_values must be [batch, {channels}, height, width], got [{string.Join(", ", pixelValues.shape)}].", nameof(pixelValues));
        if (!pixelValues.is_floating_point())
            throw new ArgumentException($"pixel_values must be floating point, got {pixelValues.dtype}.", nameof(pixelValues));

        using var scope = NewDisposeScope();
        var (features, pixel, decoded) = model.forward(pixelValues, keepEncoderLayers);
        var classes = decoded.IntermediateStates.Select(state => class_predictor.forward(state.transpose(0, 1))).ToArray();
        var masks = decoded.MaskLogits;
        var last = classes.Length - 1;
        var auxiliary = Enumerable.Range(0, last).Select(i => (classes[i], masks[i])).ToArray();
        var output = new Mask2FormerOutput(classes[last], masks[last], auxiliary, features, pixel.MultiScaleFeatures, pixel.MaskFeatures,
            decoded.HiddenStates, decoded.HiddenStates[^1].transpose(0, 1), pixel.EncoderLayerOutputs);
        return output.MoveToOuterDisposeScope();
    }
}
