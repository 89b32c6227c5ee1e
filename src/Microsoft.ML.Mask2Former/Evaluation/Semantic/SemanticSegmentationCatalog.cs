using Microsoft.ML.Data;
using Microsoft.ML.Mask2Former.Data;
using Microsoft.ML.Mask2Former.Formats;

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
    /// <summary>The ignore label of the confusion matrix (no category index can take it).</summary>
    private const int Ignore = -1;

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
        var classOf = new Dictionary<long, int>(categories.Count);
        for (var k = 0; k < categories.Count; k++)
        {
            if (!classOf.TryAdd(categories[k].Id, k)) throw new ArgumentException($"category id {categories[k].Id} appears twice in the category list", nameof(categories));
        }
        var accumulator = new SemanticSegmentationAccumulator(categories.Count, Ignore);
        using var cursor = data.GetRowCursor(truth.Columns.Append(predCol));
        truth.Bind(cursor);
        var getPred = cursor.GetGetter<VBuffer<uint>>(predCol);
        VBuffer<uint> pred = default;
        int[] gtClasses = [], predClasses = [];
        while (cursor.MoveNext())
        {
            var imageId = truth.ImageId();
            var segments = truth.Segments(imageId);
            var map = truth.Map();
            getPred(ref pred);
            var predMap = GroundTruthReader.Dense(pred);
            if (predMap.Length != map.Length)
                throw new DataFormatException($"size mismatch: the prediction has {predMap.Length} pixels, the ground truth {map.Length}", imageId: imageId);
            var classOfSegment = new Dictionary<uint, int>(segments.Length);
            foreach (var segment in segments)
            {
                if (!classOf.TryGetValue(segment.CategoryId, out var k))
                    throw new DataFormatException($"ground-truth category {segment.CategoryId} is not in the category list", imageId: imageId, segmentId: segment.Id);
                classOfSegment[segment.Id] = k;
            }
            if (gtClasses.Length != map.Length)
            {
                gtClasses = new int[map.Length];
                predClasses = new int[map.Length];
            }
            for (var p = 0; p < map.Length; p++)
            {
                gtClasses[p] = classOfSegment.TryGetValue(map[p], out var g) ? g : Ignore;
                predClasses[p] = classOf.TryGetValue(predMap[p], out var c) ? c
                    : throw new DataFormatException($"predicted category {predMap[p]} at pixel {p} is not in the category list", imageId: imageId);
            }
            try
            {
                accumulator.Add(predClasses, gtClasses);
            }
            catch (DataFormatException e)
            {
                throw e.WithLocation(imageId: imageId);
            }
        }
        return accumulator;
    }
}
