using Microsoft.ML.Mask2Former.Data;
using Microsoft.ML.Mask2Former.Evaluation;
using Microsoft.ML.Mask2Former.Scoring;

namespace Microsoft.ML.Mask2Former;

/// <summary>The extension methods that bring Mask2Former into an <see cref="MLContext"/>.</summary>
public static class Mask2FormerCatalog
{
    /// <summary>
    /// Panoptic segmentation operations: <c>mlContext.PanopticSegmentation().Evaluate(...)</c>.
    /// </summary>
    public static PanopticSegmentationCatalog PanopticSegmentation(this MLContext mlContext)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        return new PanopticSegmentationCatalog(mlContext);
    }

    /// <summary>
    /// Instance segmentation operations: <c>mlContext.InstanceSegmentation().Evaluate(...)</c> (COCO box and mask AP).
    /// </summary>
    public static InstanceSegmentationCatalog InstanceSegmentation(this MLContext mlContext)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        return new InstanceSegmentationCatalog(mlContext);
    }

    /// <summary>
    /// Semantic segmentation operations: <c>mlContext.SemanticSegmentation().Evaluate(...)</c> (mIoU as detectron2's <c>SemSegEvaluator</c>).
    /// </summary>
    public static SemanticSegmentationCatalog SemanticSegmentation(this MLContext mlContext)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        return new SemanticSegmentationCatalog(mlContext);
    }

    /// <summary>
    /// Loads a COCO panoptic data set (JSON + segment-map PNG folder) as a lazy
    /// <see cref="IDataView"/> with the columns of <see cref="PanopticColumnNames"/>. The JSON is
    /// read and validated now; PNGs are decoded only when a cursor reads the segment map.
    /// </summary>
    /// <param name="catalog">The data catalog (<c>mlContext.Data</c>).</param>
    /// <param name="jsonPath">The COCO panoptic JSON.</param>
    /// <param name="pngFolder">The folder of segment-map PNGs named by the annotations' <c>file_name</c>.</param>
    /// <param name="imageFolder">The folder of the photos, for the <c>ImagePath</c> column; <see langword="null"/> leaves it empty.</param>
    public static CocoPanopticDataView LoadFromCocoPanoptic(this DataOperationsCatalog catalog, string jsonPath, string pngFolder,
        string? imageFolder = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new CocoPanopticDataView(CocoPanopticDataset.Load(jsonPath), pngFolder, imageFolder);
    }

    /// <summary>
    /// Panoptic segmentation with a Mask2Former ONNX model: letterboxes the image column to the
    /// model's fixed input, runs the model and adds a segment-id map at the original image size
    /// plus the segment list (the <c>Predicted*</c> columns of <see cref="PanopticColumnNames"/>), by detectron2's
    /// <c>panoptic_inference</c>. Settings not given come from the model's metadata, else defaults.
    /// </summary>
    /// <param name="catalog">The transforms catalog (<c>mlContext.Transforms</c>).</param>
    /// <param name="modelPath">The ONNX model.</param>
    /// <param name="imageColumnName">The image column, as <c>LoadImages</c> produces.</param>
    /// <param name="labels">The label set (entry i describes logit i); <see langword="null"/> for the model's own or the default.</param>
    /// <exception cref="InvalidOperationException">The file is not a Mask2Former ONNX model (the message names what was expected and found).</exception>
    /// <exception cref="ArgumentException">The options contradict the model (label count, input size).</exception>
    public static Mask2FormerSegmentationEstimator SegmentPanoptic(this TransformsCatalog catalog, string modelPath, string imageColumnName = PanopticColumnNames.Image,
        IReadOnlyList<Mask2FormerLabel>? labels = null) =>
        SegmentPanoptic(catalog, new SegmentPanopticOptions { ModelPath = modelPath, ImageColumnName = imageColumnName, Labels = labels });

    /// <summary>Panoptic segmentation with a Mask2Former ONNX model; see <see cref="SegmentPanoptic(TransformsCatalog, string, string, IReadOnlyList{Mask2FormerLabel})"/>.</summary>
    /// <param name="catalog">The transforms catalog (<c>mlContext.Transforms</c>).</param>
    /// <param name="options">Model, columns, labels, thresholds, input size and runtime settings.</param>
    public static Mask2FormerSegmentationEstimator SegmentPanoptic(this TransformsCatalog catalog, SegmentPanopticOptions options) =>
        new(catalog, options, SegmentationTask.Panoptic);

    /// <summary>
    /// Instance segmentation with a Mask2Former ONNX model: adds the top-k (query, class) pairs
    /// scored by class probability × mean mask probability, with masks (COCO RLE) and boxes at the
    /// original image size (detectron2's <c>instance_inference</c>).
    /// </summary>
    /// <param name="catalog">The transforms catalog (<c>mlContext.Transforms</c>).</param>
    /// <param name="modelPath">The ONNX model.</param>
    /// <param name="imageColumnName">The image column, as <c>LoadImages</c> produces.</param>
    /// <param name="labels">The label set; <see langword="null"/> for the model's own or the default.</param>
    public static Mask2FormerSegmentationEstimator SegmentInstances(this TransformsCatalog catalog, string modelPath, string imageColumnName = PanopticColumnNames.Image,
        IReadOnlyList<Mask2FormerLabel>? labels = null) =>
        SegmentInstances(catalog, new SegmentInstancesOptions { ModelPath = modelPath, ImageColumnName = imageColumnName, Labels = labels });

    /// <summary>Instance segmentation with a Mask2Former ONNX model; see <see cref="SegmentInstances(TransformsCatalog, string, string, IReadOnlyList{Mask2FormerLabel})"/>.</summary>
    /// <param name="catalog">The transforms catalog (<c>mlContext.Transforms</c>).</param>
    /// <param name="options">Model, columns, labels, top-k, input size and runtime settings.</param>
    public static Mask2FormerSegmentationEstimator SegmentInstances(this TransformsCatalog catalog, SegmentInstancesOptions options) =>
        new(catalog, options, SegmentationTask.Instances);

    /// <summary>
    /// Semantic segmentation with a Mask2Former ONNX model: adds the category id of every pixel at
    /// the original image size (<see cref="PanopticColumnNames.PredictedSemanticMap"/>; detectron2's
    /// <c>semantic_inference</c>, argmax over classes, each class written as its label's id).
    /// </summary>
    /// <param name="catalog">The transforms catalog (<c>mlContext.Transforms</c>).</param>
    /// <param name="modelPath">The ONNX model.</param>
    /// <param name="imageColumnName">The image column, as <c>LoadImages</c> produces.</param>
    public static Mask2FormerSegmentationEstimator SegmentSemantic(this TransformsCatalog catalog, string modelPath, string imageColumnName = PanopticColumnNames.Image) =>
        SegmentSemantic(catalog, new SegmentSemanticOptions { ModelPath = modelPath, ImageColumnName = imageColumnName });

    /// <summary>Semantic segmentation with a Mask2Former ONNX model; see <see cref="SegmentSemantic(TransformsCatalog, string, string)"/>.</summary>
    /// <param name="catalog">The transforms catalog (<c>mlContext.Transforms</c>).</param>
    /// <param name="options">Model, columns, labels, input size and runtime settings.</param>
    public static Mask2FormerSegmentationEstimator SegmentSemantic(this TransformsCatalog catalog, SegmentSemanticOptions options) =>
        new(catalog, options, SegmentationTask.Semantic);
}
