using Microsoft.ML.Mask2Former.Scoring;
using Microsoft.ML.Mask2Former.Training.Modeling;

namespace Microsoft.ML.Mask2Former.Training.Export;

/// <summary>Options for <see cref="Mask2FormerOnnxExporter"/>.</summary>
public sealed class OnnxExportOptions
{
    /// <summary>Fixed input height, or <see langword="null"/> (default) for a dynamic height. Set with <see cref="FixedWidth"/>.</summary>
    public int? FixedHeight { get; set; }

    /// <summary>Fixed input width, or <see langword="null"/> (default) for a dynamic width.</summary>
    public int? FixedWidth { get; set; }

    /// <summary>
    /// The label set written to the metadata (<c>m2f.labels</c>; entry i describes class logit i:
    /// category id, name, thing or stuff). Default <see langword="null"/>: the model's own
    /// categories (<c>categories</c> of its config.json, as a trained run folder carries them),
    /// else ids 1 … K with every class a thing. When the model has categories, labels given here
    /// must agree with them.
    /// </summary>
    public IReadOnlyList<Mask2FormerLabel>? Labels { get; set; }

    /// <summary>Per-channel mean of RGB values in [0, 1] (default ImageNet's 0.485, 0.456, 0.406).</summary>
    public IReadOnlyList<double> Mean { get; set; } = [0.485, 0.456, 0.406];

    /// <summary>Per-channel standard deviation (default ImageNet's 0.229, 0.224, 0.225).</summary>
    public IReadOnlyList<double> Std { get; set; } = [0.229, 0.224, 0.225];

    /// <summary>Panoptic post-processing default: minimum query score (0.8, detectron2's).</summary>
    public double ObjectMaskThreshold { get; set; } = 0.8;

    /// <summary>Panoptic post-processing default: minimum visible fraction of a query's mask (0.8, detectron2's).</summary>
    public double OverlapThreshold { get; set; } = 0.8;

    /// <summary>
    /// How the weights are stored: <see cref="OnnxQuantization.None"/> (default, float32) or
    /// <see cref="OnnxQuantization.DynamicInt8"/>. Other values are refused.
    /// </summary>
    public OnnxQuantization Quantization { get; set; } = OnnxQuantization.None;

    /// <summary>
    /// When the weights take more than this many bytes (default 1 GiB), a file export writes them as
    /// ONNX external data to <c>&lt;file&gt;.data</c> beside the model (protobuf cannot hold more than
    /// 2 GiB in one file: ViT-Adapter-L needs it). ONNX Runtime and ML.NET load such a model from its
    /// path, with the data file beside it. 0 always writes external data.
    /// </summary>
    public long ExternalDataThreshold { get; set; } = 1L << 30;

    /// <summary>
    /// The post-processing the model's numbers come from, written as <c>m2f.post_processing</c> for
    /// scoring to default to; <see langword="null"/> (default) writes none (scoring then uses detectron2's).
    /// </summary>
    public PostProcessingMode? PostProcessing { get; set; }

    /// <summary>
    /// mmdetection's <c>test_cfg.filter_low_score</c>, written as <c>m2f.filter_low_score</c> when set
    /// (only with <see cref="PostProcessing"/> = <see cref="PostProcessingMode.MmDetection"/>).
    /// </summary>
    public bool? FilterLowScore { get; set; }

    /// <summary>
    /// Options that carry an mmdetection configuration's own settings: <c>img_norm_cfg</c> (scaled to
    /// [0, 1]) and <c>test_cfg</c> (mmdetection post-processing, <c>object_mask_thr</c>,
    /// <c>iou_thr</c>, <c>filter_low_score</c>), so the exported model scores as mmdetection tests it.
    /// </summary>
    public static OnnxExportOptions FromMmdet(MmdetConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return new OnnxExportOptions
        {
            Mean = config.PixelMean.Select(m => m / 255.0).ToArray(),
            Std = config.PixelStd.Select(s => s / 255.0).ToArray(),
            PostProcessing = PostProcessingMode.MmDetection,
            FilterLowScore = config.FilterLowScore,
            ObjectMaskThreshold = config.ObjectMaskThreshold,
            OverlapThreshold = config.OverlapThreshold,
        };
    }
}

/// <summary>The weight quantisation an export applies (<see cref="OnnxExportOptions.Quantization"/>).</summary>
public enum OnnxQuantization
{
    /// <summary>float32 weights and arithmetic: logits within 1e-4 of the TorchSharp forward.</summary>
    None = 0,

    /// <summary>
    /// Dynamic int8 (<c>m2f export --quantize int8</c>): the weights of the matrix products (Swin's and
    /// the decoders' linear layers) stored as int8 per output column, activations quantised to uint8
    /// at run time by ONNX Runtime's <c>com.microsoft.DynamicQuantizeMatMul</c>. Convolutions, attention
    /// products, the deformable sampling offsets and the output layers (class predictor, mask
    /// embedder) stay float32. The file is about 3.5× smaller and the logits approximate (PQ 76.0 →
    /// 75.6 on the QuickStart model; see eng/Benchmarks/README.md for speed). Needs ONNX Runtime's CPU contrib operators (any
    /// Microsoft.ML.OnnxRuntime package). On x86 CPUs without VNNI, MLAS' u8s8 kernel can saturate
    /// intermediate sums, as ONNX Runtime's own quantiser documents.
    /// </summary>
    DynamicInt8 = 1,
}

/// <summary>What an export wrote.</summary>
/// <param name="Nodes">Graph nodes.</param>
/// <param name="Initializers">Weight and constant tensors.</param>
/// <param name="InputSize">"dynamic" or "HxW".</param>
/// <param name="Path">The file written ("" for bytes).</param>
/// <param name="Bytes">The file's size (with its external data).</param>
public sealed record OnnxExportReport(int Nodes, int Initializers, string InputSize, string Path, long Bytes)
{
    /// <summary>Matrix products stored as int8 (<see cref="OnnxQuantization.DynamicInt8"/>); 0 for a float32 export.</summary>
    public int QuantizedMatrixProducts { get; init; }

    /// <summary>The external-data file written beside the model, or null when the weights are inside it.</summary>
    public string? ExternalDataPath { get; init; }
}
