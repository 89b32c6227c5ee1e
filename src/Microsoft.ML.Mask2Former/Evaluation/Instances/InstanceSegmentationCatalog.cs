using Microsoft.ML.Data;
using Microsoft.ML.Mask2Former.Data;

namespace Microsoft.ML.Mask2Former.Evaluation;

/// <summary>
/// Instance segmentation operations of an <see cref="MLContext"/>, reached through
/// <c>mlContext.InstanceSegmentation()</c>: COCO box or mask AP of an <see cref="IDataView"/> that
/// holds panoptic ground truth and instance predictions side by side
/// (<c>LoadFromCocoPanoptic → LoadImages → SegmentInstances</c>).
/// </summary>
/// <remarks>
/// The ground-truth instances are the thing segments of the panoptic ground truth, as panopticapi's
/// <c>panoptic2detection_coco_format</c> converter makes them: one annotation per segment whose
/// category is a thing, its mask the segment's pixels, its box the mask's extent, its area the
/// JSON <c>area</c> (else the pixel count), crowd as flagged. Every category of the list is a COCO
/// category, so detections of stuff categories count nowhere (their AP is −1 and left out of the
/// averages, as pycocotools does for categories without ground truth). Detections enter as a
/// results file of one kind would: for mask AP with their masks only (areas and boxes from the
/// masks), for box AP with their boxes only. The numbers are then those of pycocotools'
/// <c>COCOeval</c> (<see cref="InstanceEvaluator"/>). Detections are held in memory as RLE until
/// the evaluation, as COCOeval needs all of them at once.
/// </remarks>
public sealed class InstanceSegmentationCatalog
{
    internal InstanceSegmentationCatalog(MLContext context) => Context = context;

    /// <summary>The context this catalog belongs to.</summary>
    public MLContext Context { get; }

    /// <summary>Computes COCO AP (the 12 <c>COCOeval</c> stats) over the rows of <paramref name="data"/>, one image per row.</summary>
    /// <param name="data">Rows holding panoptic ground truth and instance predictions.</param>
    /// <param name="categories">The category list with thing flags (a <see cref="CocoPanopticDataView"/> carries its own).</param>
    /// <param name="options">Box or mask AP, threads and columns; <see langword="null"/> for mask AP over the names of <see cref="PanopticColumnNames"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException">A column is missing or of the wrong type (the message names it).</exception>
    /// <exception cref="DataFormatException">A row is inconsistent (vector lengths, mask sizes, corrupt RLE, unknown category); the message names the image.</exception>
    public InstanceSegmentationMetrics Evaluate(IDataView data, IReadOnlyList<CocoPanopticCategory> categories, InstanceEvaluationOptions? options = null) =>
        Accumulate(data, categories, options).ComputeMetrics(InstanceCategories(categories), options?.Threads ?? 0);

    /// <summary>Like <see cref="Evaluate"/> but returns the mergeable per-image evaluation (for shards of a data set).</summary>
    /// <param name="data">Rows holding panoptic ground truth and instance predictions.</param>
    /// <param name="categories">The category list with thing flags.</param>
    /// <param name="options">Box or mask AP, threads and columns.</param>
    public InstanceEvaluationAccumulator Accumulate(IDataView data, IReadOnlyList<CocoPanopticCategory> categories, InstanceEvaluationOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(categories);
        var o = options ?? new InstanceEvaluationOptions();
        var s = data.Schema;
        var truth = new GroundTruthReader(s, o);
        var heightCol = SchemaChecks.Require(s, "image height", o.HeightColumnName, NumberDataViewType.Int32, false);
        var widthCol = SchemaChecks.Require(s, "image width", o.WidthColumnName, NumberDataViewType.Int32, false);
        var catCol = SchemaChecks.Require(s, "predicted category ids", o.PredictedCategoryIdsColumnName, NumberDataViewType.Int32, true);
        var scoreCol = SchemaChecks.Require(s, "predicted scores", o.PredictedScoresColumnName, NumberDataViewType.Single, true);
        var masks = o.IouType == InstanceIouType.Segmentation;
        var shapeCol = masks
            ? SchemaChecks.Require(s, "predicted masks", o.PredictedMasksColumnName, TextDataViewType.Instance, true)
            : SchemaChecks.Require(s, "predicted boxes", o.PredictedBoxesColumnName, NumberDataViewType.Single, true);
        var thing = categories.ToDictionary(c => c.Id, c => c.IsThing);

        var images = new List<CocoImage>();
        var annotations = new List<CocoInstanceAnnotation>();
        var detections = new List<CocoDetection>();
        using (var cursor = data.GetRowCursor(truth.Columns.Concat([heightCol, widthCol, catCol, scoreCol, shapeCol])))
        {
            truth.Bind(cursor);
            var getHeight = cursor.GetGetter<int>(heightCol);
            var getWidth = cursor.GetGetter<int>(widthCol);
            var getCat = cursor.GetGetter<VBuffer<int>>(catCol);
            var getScore = cursor.GetGetter<VBuffer<float>>(scoreCol);
            var getBoxes = masks ? null : cursor.GetGetter<VBuffer<float>>(shapeCol);
            var getMasks = masks ? cursor.GetGetter<VBuffer<ReadOnlyMemory<char>>>(shapeCol) : null;
            int height = 0, width = 0;
            VBuffer<int> cats = default;
            VBuffer<float> scores = default, boxes = default;
            VBuffer<ReadOnlyMemory<char>> maskStrings = default;
            while (cursor.MoveNext())
            {
                var imageId = truth.ImageId();
                getHeight(ref height);
                getWidth(ref width);
                if (height < 1 || width < 1) throw new DataFormatException($"image size {height}x{width} is not positive", imageId: imageId);
                images.Add(new CocoImage(imageId, "", width, height));
                var segments = truth.Segments(imageId);
                var map = truth.Map();
                if (map.Length != (long)height * width)
                    throw new DataFormatException($"the ground-truth map holds {map.Length} pixels, not {height}x{width}", imageId: imageId);
                annotations.AddRange(CocoInstancesDataset.ThingAnnotations(imageId, map, height, width, segments, thing, annotations.Count + 1));

                getCat(ref cats);
                getScore(ref scores);
                getBoxes?.Invoke(ref boxes);
                getMasks?.Invoke(ref maskStrings);
                var n = cats.Length;
                if (scores.Length != n || (masks ? maskStrings.Length != n : boxes.Length != 4 * n))
                    throw new DataFormatException(masks
                        ? $"the prediction columns disagree: {n} categories, {scores.Length} scores, {maskStrings.Length} masks"
                        : $"the prediction columns disagree: {n} categories, {scores.Length} scores, {boxes.Length} box numbers (4 per instance)", imageId: imageId);
                var catv = GroundTruthReader.Dense(cats);
                var scorev = GroundTruthReader.Dense(scores);
                var boxv = GroundTruthReader.Dense(boxes);
                var rlev = GroundTruthReader.Dense(maskStrings);
                for (var i = 0; i < n; i++)
                {
                    if (!masks)
                    {
                        detections.Add(new CocoDetection(imageId, catv[i], scorev[i], [boxv[4 * i], boxv[4 * i + 1], boxv[4 * i + 2], boxv[4 * i + 3]]));
                        continue;
                    }
                    CocoRle mask;
                    try
                    {
                        mask = CocoRle.FromCompressedString(rlev[i].ToString(), height, width);
                    }
                    catch (FormatException e)
                    {
                        throw new DataFormatException($"predicted mask {i} is not a COCO RLE of {height}x{width}: {e.Message}", imageId: imageId, inner: e);
                    }
                    detections.Add(new CocoDetection(imageId, catv[i], scorev[i], Segmentation: CocoSegmentation.FromRle(mask)));
                }
            }
        }
        var gt = new CocoInstancesDataset(images, annotations, InstanceCategories(categories), "the panoptic ground truth");
        return InstanceEvaluator.Accumulate(gt, detections, o.IouType, new InstanceEvaluatorOptions { Threads = o.Threads }, "the predicted instances");
    }

    private static CocoInstanceCategory[] InstanceCategories(IReadOnlyList<CocoPanopticCategory> categories) =>
        categories.Select(c => new CocoInstanceCategory(c.Id, c.Name, c.Supercategory)).ToArray();
}
