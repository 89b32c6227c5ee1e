using Microsoft.ML.Data;
using Microsoft.ML.Mask2Former.Data;
using Microsoft.ML.Mask2Former.Formats;

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
    /// <param name="data">Rows holding ground truth and predictions.</param>
    /// <param name="categories">The category list (thing/stuff flags, names, order of the tables); a <see cref="CocoPanopticDataView"/> carries its own in <see cref="CocoPanopticDataView.Categories"/>.</param>
    /// <param name="labelSegmentMapColumnName">Ground-truth segment-id map (vector of UInt32).</param>
    /// <param name="labelSegmentIdsColumnName">Ground-truth segment ids (vector of UInt32).</param>
    /// <param name="labelCategoryIdsColumnName">Ground-truth category ids (vector of Int32).</param>
    /// <param name="labelIsCrowdColumnName">Ground-truth crowd flags (vector of Boolean); if the column is absent no segment is crowd.</param>
    /// <param name="labelAreasColumnName">Ground-truth areas (vector of Int64, -1 = count from the map); if the column is absent areas are counted from the map.</param>
    /// <param name="predictedSegmentMapColumnName">Predicted segment-id map (vector of UInt32, same size as the ground truth's).</param>
    /// <param name="predictedSegmentIdsColumnName">Predicted segment ids (vector of UInt32).</param>
    /// <param name="predictedCategoryIdsColumnName">Predicted category ids (vector of Int32).</param>
    /// <param name="imageIdColumnName">Image id (text) used in error messages; if the column is absent the row number is used.</param>
    public PanopticSegmentationMetrics Evaluate(IDataView data, IReadOnlyList<CocoPanopticCategory> categories,
        string labelSegmentMapColumnName = PanopticColumnNames.SegmentMap,
        string labelSegmentIdsColumnName = PanopticColumnNames.SegmentIds,
        string labelCategoryIdsColumnName = PanopticColumnNames.CategoryIds,
        string labelIsCrowdColumnName = PanopticColumnNames.IsCrowd,
        string labelAreasColumnName = PanopticColumnNames.Areas,
        string predictedSegmentMapColumnName = PanopticColumnNames.PredictedSegmentMap,
        string predictedSegmentIdsColumnName = PanopticColumnNames.PredictedSegmentIds,
        string predictedCategoryIdsColumnName = PanopticColumnNames.PredictedCategoryIds,
        string imageIdColumnName = PanopticColumnNames.ImageId) =>
        Accumulate(data, categories, labelSegmentMapColumnName, labelSegmentIdsColumnName, labelCategoryIdsColumnName,
            labelIsCrowdColumnName, labelAreasColumnName, predictedSegmentMapColumnName, predictedSegmentIdsColumnName,
            predictedCategoryIdsColumnName, imageIdColumnName).ComputeMetrics(categories);

    /// <summary>
    /// Like <see cref="Evaluate"/> but returns the mergeable counts, for evaluating shards
    /// separately and merging them with <see cref="PanopticQualityAccumulator.Add(PanopticQualityAccumulator)"/>.
    /// </summary>
    public PanopticQualityAccumulator Accumulate(IDataView data, IReadOnlyList<CocoPanopticCategory> categories,
        string labelSegmentMapColumnName = PanopticColumnNames.SegmentMap,
        string labelSegmentIdsColumnName = PanopticColumnNames.SegmentIds,
        string labelCategoryIdsColumnName = PanopticColumnNames.CategoryIds,
        string labelIsCrowdColumnName = PanopticColumnNames.IsCrowd,
        string labelAreasColumnName = PanopticColumnNames.Areas,
        string predictedSegmentMapColumnName = PanopticColumnNames.PredictedSegmentMap,
        string predictedSegmentIdsColumnName = PanopticColumnNames.PredictedSegmentIds,
        string predictedCategoryIdsColumnName = PanopticColumnNames.PredictedCategoryIds,
        string imageIdColumnName = PanopticColumnNames.ImageId)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(categories);
        var s = data.Schema;
        var gtMapCol = SchemaChecks.Require(s, "label segment map", labelSegmentMapColumnName, NumberDataViewType.UInt32, true);
        var gtIdsCol = SchemaChecks.Require(s, "label segment ids", labelSegmentIdsColumnName, NumberDataViewType.UInt32, true);
        var gtCatCol = SchemaChecks.Require(s, "label category ids", labelCategoryIdsColumnName, NumberDataViewType.Int32, true);
        var crowdCol = SchemaChecks.Optional(s, "label crowd flags", labelIsCrowdColumnName, BooleanDataViewType.Instance, true);
        var areaCol = SchemaChecks.Optional(s, "label areas", labelAreasColumnName, NumberDataViewType.Int64, true);
        var predMapCol = SchemaChecks.Require(s, "predicted segment map", predictedSegmentMapColumnName, NumberDataViewType.UInt32, true);
        var predIdsCol = SchemaChecks.Require(s, "predicted segment ids", predictedSegmentIdsColumnName, NumberDataViewType.UInt32, true);
        var predCatCol = SchemaChecks.Require(s, "predicted category ids", predictedCategoryIdsColumnName, NumberDataViewType.Int32, true);
        var idCol = SchemaChecks.Optional(s, "image id", imageIdColumnName, TextDataViewType.Instance, false);

        var columns = new List<DataViewSchema.Column> { gtMapCol, gtIdsCol, gtCatCol, predMapCol, predIdsCol, predCatCol };
        if (crowdCol is { } cc) columns.Add(cc);
        if (areaCol is { } ac) columns.Add(ac);
        if (idCol is { } ic) columns.Add(ic);

        var evaluator = new PanopticEvaluator(categories);
        var total = new PanopticQualityAccumulator();
        using var cursor = data.GetRowCursor(columns);
        var getGtMap = cursor.GetGetter<VBuffer<uint>>(gtMapCol);
        var getGtIds = cursor.GetGetter<VBuffer<uint>>(gtIdsCol);
        var getGtCat = cursor.GetGetter<VBuffer<int>>(gtCatCol);
        var getPredMap = cursor.GetGetter<VBuffer<uint>>(predMapCol);
        var getPredIds = cursor.GetGetter<VBuffer<uint>>(predIdsCol);
        var getPredCat = cursor.GetGetter<VBuffer<int>>(predCatCol);
        var getCrowd = crowdCol is { } c1 ? cursor.GetGetter<VBuffer<bool>>(c1) : null;
        var getArea = areaCol is { } c2 ? cursor.GetGetter<VBuffer<long>>(c2) : null;
        var getId = idCol is { } c3 ? cursor.GetGetter<ReadOnlyMemory<char>>(c3) : null;

        VBuffer<uint> gtMap = default, gtIds = default, predMap = default, predIds = default;
        VBuffer<int> gtCat = default, predCat = default;
        VBuffer<bool> crowd = default;
        VBuffer<long> area = default;
        ReadOnlyMemory<char> id = default;
        while (cursor.MoveNext())
        {
            string imageId;
            if (getId is not null) { getId(ref id); imageId = id.ToString(); }
            else imageId = $"row {cursor.Position}";
            getGtMap(ref gtMap);
            getGtIds(ref gtIds);
            getGtCat(ref gtCat);
            getPredMap(ref predMap);
            getPredIds(ref predIds);
            getPredCat(ref predCat);
            getCrowd?.Invoke(ref crowd);
            getArea?.Invoke(ref area);

            var gtSegments = Segments(imageId, "label", gtIds, gtCat, getCrowd is null ? null : crowd, getArea is null ? null : area);
            var predSegments = Segments(imageId, "predicted", predIds, predCat, null, null);
            total.Add(evaluator.EvaluateImage(imageId, Dense(gtMap), gtSegments, Dense(predMap), predSegments));
        }
        return total;
    }

    private static ReadOnlySpan<T> Dense<T>(in VBuffer<T> buffer) where T : struct
    {
        if (buffer.IsDense) return buffer.GetValues();
        var dense = new T[buffer.Length];
        buffer.CopyTo(dense);
        return dense;
    }

    private static CocoPanopticSegment[] Segments(string imageId, string role, in VBuffer<uint> ids, in VBuffer<int> cats,
        VBuffer<bool>? crowd, VBuffer<long>? areas)
    {
        var n = ids.Length;
        if (cats.Length != n)
            throw new DataFormatException($"{role} segment ids ({n}) and category ids ({cats.Length}) differ in length", imageId: imageId);
        if (crowd is { } c && c.Length != n)
            throw new DataFormatException($"{role} segment ids ({n}) and crowd flags ({c.Length}) differ in length", imageId: imageId);
        if (areas is { } a && a.Length != n)
            throw new DataFormatException($"{role} segment ids ({n}) and areas ({a.Length}) differ in length", imageId: imageId);
        var idv = Dense(ids);
        var catv = Dense(cats);
        var crowdv = crowd is { } cc ? Dense(cc) : default;
        var areav = areas is { } aa ? Dense(aa) : default;
        var result = new CocoPanopticSegment[n];
        for (var i = 0; i < n; i++)
        {
            long? area = areav.IsEmpty || areav[i] < 0 ? null : areav[i];
            result[i] = new CocoPanopticSegment(idv[i], catv[i], !crowdv.IsEmpty && crowdv[i], area);
        }
        return result;
    }
}
