using Microsoft.ML.Mask2Former.Data;

namespace Microsoft.ML.Mask2Former.Scoring;

/// <summary>
/// What every Mask2Former scoring estimator needs: the ONNX model, the image column, the label
/// set, the input size and normalisation, and how ONNX Runtime runs. Settings left
/// <see langword="null"/> come from the model's <c>m2f.*</c> metadata_props when present, else
/// from the defaults given on each property.
/// </summary>
public abstract class SegmentationOptions
{
    /// <summary>Path of the ONNX model. Set this or <see cref="ModelBytes"/>.</summary>
    public string? ModelPath { get; set; }

    /// <summary>The ONNX model itself. Set this or <see cref="ModelPath"/>.</summary>
    public byte[]? ModelBytes { get; set; }

    /// <summary>The input column: an image (<c>MLImage</c>, as <c>LoadImages</c> produces, of unspecified size). Default <see cref="PanopticColumnNames.Image"/>.</summary>
    public string ImageColumnName { get; set; } = PanopticColumnNames.Image;

    /// <summary>
    /// Prepended to every output column name (the <c>Predicted*</c> names and <c>ImageHeight</c> /
    /// <c>ImageWidth</c> of <see cref="PanopticColumnNames"/>), so two models can score into one
    /// row. Default "" (the names as listed, which the evaluators read without arguments).
    /// </summary>
    public string OutputColumnPrefix { get; set; } = "";

    /// <summary>
    /// Entry i describes class logit i: category id, name, thing or stuff. Default: the model's
    /// <c>m2f.labels</c> metadata, else ids 1 … K with every class a thing. Its size must be the
    /// model's K.
    /// </summary>
    public IReadOnlyList<Mask2FormerLabel>? Labels { get; set; }

    /// <summary>
    /// The fixed input height the images are letterboxed to. Default: the model's own when its
    /// input is fixed (a different value is an error), else the model's <c>m2f.input_size</c>
    /// metadata; a dynamic-size model without it needs this set. For the paper's full-resolution
    /// inference on dynamic-size models use <see cref="Mask2FormerPredictor"/>.
    /// </summary>
    public int? InputHeight { get; set; }

    /// <summary>The fixed input width; see <see cref="InputHeight"/>.</summary>
    public int? InputWidth { get; set; }

    /// <summary>Per-channel mean of RGB values scaled to [0, 1]. Default: <c>m2f.mean</c>, else ImageNet's (0.485, 0.456, 0.406).</summary>
    public IReadOnlyList<double>? Mean { get; set; }

    /// <summary>Per-channel standard deviation of RGB values scaled to [0, 1]. Default: <c>m2f.std</c>, else ImageNet's (0.229, 0.224, 0.225).</summary>
    public IReadOnlyList<double>? Std { get; set; }

    /// <summary>
    /// ONNX Runtime intra-op threads. Default <see langword="null"/> (ONNX Runtime's choice: one per
    /// core). A cursor over the scored data runs rows on several ML.NET threads at once (batches of
    /// 128 rows), each with this many ORT threads, so for batch scoring 1 avoids oversubscribing the
    /// cores; a <c>PredictionEngine</c> scores one row at a time and can use them. Not kept by
    /// <c>mlContext.Model.Save</c>: a loaded model uses ONNX Runtime's default.
    /// </summary>
    public int? IntraOpNumThreads { get; set; }

    /// <summary>
    /// The GPU to run the model on (CUDA device index); <see langword="null"/> (default) runs on the
    /// CPU. Needs the CUDA build of ONNX Runtime, <c>Microsoft.ML.OnnxRuntime.Gpu.Linux</c> 1.32.0, in
    /// place of <c>Microsoft.ML.OnnxRuntime</c> (see the README, "GPU scoring"), and CUDA 13 with cuDNN 9
    /// on the machine. Whether CUDA starts is checked when the estimator or predictor is created: if it
    /// does not, the constructor throws a <see cref="NotSupportedException"/> that names the missing
    /// libraries, unless <see cref="FallbackToCpu"/> is set. Not kept by <c>mlContext.Model.Save</c>.
    /// </summary>
    public int? GpuDeviceId { get; set; }

    /// <summary>
    /// Whether a model that cannot start on the GPU of <see cref="GpuDeviceId"/> runs on the CPU
    /// instead (the same results), with a warning: the estimator's or predictor's
    /// <c>GpuFallbackReason</c>, also written to <see cref="System.Diagnostics.Trace"/>. Default
    /// <see langword="false"/>: an exception.
    /// </summary>
    public bool FallbackToCpu { get; set; }

    internal byte[] ReadModel(out string source)
    {
        if ((ModelPath is null) == (ModelBytes is null))
            throw new ArgumentException("set exactly one of ModelPath and ModelBytes");
        if (ModelBytes is not null)
        {
            source = "the ONNX model bytes";
            return ModelBytes;
        }
        source = $"'{ModelPath}'";
        InputFile.RequireRegular(ModelPath!, "ONNX model");
        return File.ReadAllBytes(ModelPath!);
    }
}

/// <summary>Options of <c>mlContext.Transforms.SegmentPanoptic</c>.</summary>
public sealed class SegmentPanopticOptions : SegmentationOptions
{
    /// <summary>
    /// A query is kept when its best class is not "no object" and its probability is above this.
    /// Default: <c>m2f.object_mask_threshold</c>, else 0.8 (detectron2's <c>OBJECT_MASK_THRESHOLD</c>).
    /// </summary>
    public double? ObjectMaskThreshold { get; set; }

    /// <summary>
    /// A kept query is dropped when its visible fraction is below this. Default:
    /// <c>m2f.overlap_threshold</c>, else 0.8 (detectron2's <c>OVERLAP_THRESHOLD</c>).
    /// </summary>
    public double? OverlapThreshold { get; set; }

    /// <summary>
    /// Whose post-processing to reproduce. <see cref="PostProcessingMode.MmDetection"/> reads
    /// <see cref="ObjectMaskThreshold"/> as <c>object_mask_thr</c> and <see cref="OverlapThreshold"/>
    /// as <c>iou_thr</c> (same defaults) and converts mmdetection's map to segment ids 1 … n.
    /// Default: the model's <c>m2f.post_processing</c> metadata ("detectron2" or "mmdetection"), else
    /// <see cref="PostProcessingMode.Detectron2"/>.
    /// </summary>
    public PostProcessingMode? PostProcessing { get; set; }

    /// <summary>
    /// mmdetection only (<c>filter_low_score</c>): a segment keeps only the pixels whose own mask
    /// probability is at least 0.5; otherwise it keeps every pixel it wins. Default: the model's
    /// <c>m2f.filter_low_score</c> metadata, else <see langword="false"/> (mmdetection's default;
    /// the Mask2Former + ViT-Adapter COCO panoptic configs set it). Setting it with
    /// <see cref="PostProcessingMode.Detectron2"/> is an error.
    /// </summary>
    public bool? FilterLowScore { get; set; }
}

/// <summary>Options of <c>mlContext.Transforms.SegmentInstances</c>.</summary>
public sealed class SegmentInstancesOptions : SegmentationOptions
{
    /// <summary>How many (query, class) pairs are kept by class probability, with no threshold. Default 100 (detectron2's <c>TEST.DETECTIONS_PER_IMAGE</c>).</summary>
    public int TopK { get; set; } = 100;

    /// <summary>Keep only thing classes (detectron2 does when panoptic inference is on too). Default <see langword="false"/>.</summary>
    public bool ThingClassesOnly { get; set; }

    /// <summary>
    /// Whose post-processing to reproduce. <see cref="PostProcessingMode.MmDetection"/> reads
    /// <see cref="TopK"/> as <c>max_per_image</c> and always keeps thing classes only (its
    /// <c>mask2bbox</c> boxes are the boxes detectron2 mode gives). Default: the model's
    /// <c>m2f.post_processing</c> metadata, else <see cref="PostProcessingMode.Detectron2"/>.
    /// </summary>
    public PostProcessingMode? PostProcessing { get; set; }
}

/// <summary>Options of <c>mlContext.Transforms.SegmentSemantic</c>.</summary>
public sealed class SegmentSemanticOptions : SegmentationOptions
{
    /// <summary>
    /// Resize mask logits to the image before the class/mask product (detectron2's
    /// <c>SEM_SEG_POSTPROCESSING_BEFORE_INFERENCE</c>). Default <see langword="false"/>, detectron2's default.
    /// </summary>
    public bool PostProcessBeforeInference { get; set; }
}
