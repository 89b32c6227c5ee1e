using Microsoft.ML.Data;
using Microsoft.ML.Mask2Former.Data;

namespace Microsoft.ML.Mask2Former.Evaluation;

/// <summary>
/// Panoptic segmentation operations of an <see cref="MLContext"/>, reached through
/// <c>mlContext.PanopticSegmentation()</c>: evaluation of an <see cref="IDataView"/> that holds
/// ground truth and predictions side by side (as a scoring pipeline over
/// <c>LoadFromCocoPanoptic</c> produces).
/// </summary>
public sealed class PanopticSegmentationCatalog
{
    internal PanopticSegmentationCatalog(MLContext context) => Context = context;

    /// <summary>The context this catalog belongs to.</summary>
    public MLContext Context { get; }

    /// <summary>
    /// Computes PQ / SQ / RQ exactly as panopticapi's <c>pq_compute</c> over the rows of
    /// <paramref name="data"/>, one image per row. Reads the data once, lazily.
    /// </summary>
    /// <param name="data">Rows holding ground truth and predictions, e.g. <c>LoadFromCocoPanoptic → LoadImages → SegmentPanoptic</c>.</param>
    /// <param name="categories">The category list (thing/stuff flags, names, order of the tables); a <see cref="CocoPanopticDataView"/> carries its own in <see cref="CocoPanopticDataView.Categories"/>.</param>
    /// <param name="options">The columns to read; <see langword="null"/> for the names of <see cref="PanopticColumnNames"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException">A column is missing or of the wrong type (the message names it).</exception>
    /// <exception cref="Formats.DataFormatException">A row is inconsistent (sizes, unknown category ids); the message names the image.</exception>
    public PanopticSegmentationMetrics Evaluate(IDataView data, IReadOnlyList<CocoPanopticCategory> categories, PanopticEvaluationOptions? options = null) =>
        Accumulate(data, categories, options).ComputeMetrics(categories);

    /// <summary>
    /// Like <see cref="Evaluate"/> but returns the mergeable counts, for evaluating shards
    /// separately and merging them with <see cref="PanopticQualityAccumulator.Add(PanopticQualityAccumulator)"/>.
    /// </summary>
    /// <param name="data">Rows holding ground truth and predictions.</param>
    /// <param name="categories">The category list.</param>
    /// <param name="options">The columns to read; <see langword="null"/> for the names of <see cref="PanopticColumnNames"/>.</param>
    public PanopticQualityAccumulator Accumulate(IDataView data, IReadOnlyList<CocoPanopticCategory> categories, PanopticEvaluationOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(categories);
        var o = options ?? new PanopticEvaluationOptions();
        var s = data.Schema;
        var truth = new GroundTruthReader(s, o);
        var predMapCol = SchemaChecks.Require(s, "predicted segment map", o.PredictedSegmentMapColumnName, NumberDataViewType.UInt32, true);
        var predIdsCol = SchemaChecks.Require(s, "predicted segment ids", o.PredictedSegmentIdsColumnName, NumberDataViewType.UInt32, true);
        var predCatCol = SchemaChecks.Require(s, "predicted category ids", o.PredictedCategoryIdsColumnName, NumberDataViewType.Int32, true);

        var evaluator = new PanopticEvaluator(categories);
        var total = new PanopticQualityAccumulator();
        using var cursor = data.GetRowCursor(truth.Columns.Concat([predMapCol, predIdsCol, predCatCol]));
        truth.Bind(cursor);
        var getPredMap = cursor.GetGetter<VBuffer<uint>>(predMapCol);
        var getPredIds = cursor.GetGetter<VBuffer<uint>>(predIdsCol);
        var getPredCat = cursor.GetGetter<VBuffer<int>>(predCatCol);
        VBuffer<uint> predMap = default, predIds = default;
        VBuffer<int> predCat = default;
        while (cursor.MoveNext())
        {
            var imageId = truth.ImageId();
            var gtSegments = truth.Segments(imageId);
            getPredMap(ref predMap);
            getPredIds(ref predIds);
            getPredCat(ref predCat);
            var predSegments = GroundTruthReader.Segments(imageId, "predicted", predIds, predCat, null, null);
            total.Add(evaluator.EvaluateImage(imageId, truth.Map(), gtSegments, GroundTruthReader.Dense(predMap), predSegments));
        }
        return total;
    }
}
