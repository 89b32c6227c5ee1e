using Microsoft.ML.Data;
using Microsoft.ML.Mask2Former.Data;

namespace Microsoft.ML.Mask2Former.Evaluation;

/// <summary>
/// Semantic segmentation operations of an <see cref="MLContext"/>, reached through
/// <c>mlContext.SemanticSegmentation()</c>: mIoU of an <see cref="IDataView"/> that holds panoptic
/// ground truth and semantic predictions side by side (<c>LoadFromCocoPanoptic → LoadImages → SegmentSemantic</c>).
/// </summary>
/// <remarks>
/// The ground-truth class map is made from the panoptic ground truth as Mask2Former's
/// <c>prepare_coco_semantic_annos_from_panoptic_annos.py</c> makes it: every segment listed for the
/// image (crowd included) paints its category, class index = the category's position in the list;
/// void pixels are ignored. Predicted category ids map to the same indices. The numbers are then
/// detectron2's <c>SemSegEvaluator</c> (<see cref="SemanticSegmentationAccumulator"/>).
/// </remarks>
public sealed class SemanticSegmentationCatalog
{
    internal SemanticSegmentationCatalog(MLContext context) => Context = context;

    /// <summary>The context this catalog belongs to.</summary>
    public MLContext Context { get; }

    /// <summary>Computes mIoU, fwIoU, mACC, pACC and per-class IoU over the rows of <paramref name="data"/>, one image per row.</summary>
    /// <param name="data">Rows holding panoptic ground truth and semantic predictions.</param>
    /// <param name="categories">The category list; class i of the metrics is category i of the list.</param>
    /// <param name="options">The columns to read; <see langword="null"/> for the names of <see cref="PanopticColumnNames"/>.</param>
    public SemanticSegmentationMetrics Evaluate(IDataView data, IReadOnlyList<CocoPanopticCategory> categories, SemanticEvaluationOptions? options = null) =>
        Accumulate(data, categories, options).ComputeMetrics(categories.Select(c => c.Name).ToArray());

    /// <summary>Like <see cref="Evaluate"/> but returns the mergeable confusion matrix (for shards).</summary>
    /// <param name="data">Rows holding panoptic ground truth and semantic predictions.</param>
    /// <param name="categories">The category list; class i is category i of the list.</param>
    /// <param name="options">The columns to read; <see langword="null"/> for the names of <see cref="PanopticColumnNames"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException">A column is missing or of the wrong type (the message names it).</exception>
    /// <exception cref="DataFormatException">A row is inconsistent (sizes, an id outside the category list); the message names the image.</exception>
    public SemanticSegmentationAccumulator Accumulate(IDataView data, IReadOnlyList<CocoPanopticCategory> categories, SemanticEvaluationOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(categories);
        var o = options ?? new SemanticEvaluationOptions();
        var s = data.Schema;
        var truth = new GroundTruthReader(s, o, withCrowdAndAreas: false);
        var predCol = SchemaChecks.Require(s, "predicted semantic map", o.PredictedSemanticMapColumnName, NumberDataViewType.UInt32, true);
        var semantic = new SemanticFromPanoptic(categories);
        var accumulator = semantic.CreateAccumulator();
        using var cursor = data.GetRowCursor(truth.Columns.Append(predCol));
        truth.Bind(cursor);
        var getPred = cursor.GetGetter<VBuffer<uint>>(predCol);
        VBuffer<uint> pred = default;
        while (cursor.MoveNext())
        {
            var imageId = truth.ImageId();
            var segments = truth.Segments(imageId);
            getPred(ref pred);
            semantic.Add(accumulator, imageId, truth.Map(), segments, GroundTruthReader.Dense(pred));
        }
        return accumulator;
    }
}
