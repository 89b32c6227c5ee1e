using Microsoft.ML.Data;
using Microsoft.ML.Mask2Former.Formats;

namespace Microsoft.ML.Mask2Former.Tests.Evaluation;

/// <summary>
/// <c>mlContext.SemanticSegmentation().Evaluate</c> paints the panoptic ground truth by category as
/// Mask2Former's <c>prepare_coco_semantic_annos_from_panoptic_annos.py</c> does (every listed
/// segment, crowd included; void ignored; class = position in the category list) and counts the
/// confusion matrix of detectron2's SemSegEvaluator.
/// </summary>
[TestClass]
public sealed class SemanticSegmentationCatalogTests
{
    private sealed class Row
    {
        public string ImageId { get; set; } = "";
        [VectorType] public uint[] SegmentMap { get; set; } = [];
        [VectorType] public uint[] SegmentIds { get; set; } = [];
        [VectorType] public int[] CategoryIds { get; set; } = [];
        [VectorType] public bool[] IsCrowd { get; set; } = [];
        [VectorType] public uint[] PredictedSemanticMap { get; set; } = [];
    }

    private static readonly CocoPanopticCategory[] Categories = [new(40, "dog", true), new(7, "sky", false), new(200, "road", false)];

    [TestMethod]
    public void TheGroundTruthIsPaintedByCategoryAndVoidIsIgnored()
    {
        // 2×4 ground truth: segment 5 (dog, crowd), segment 9 (sky), void; an unlisted segment id 3 counts as void.
        var row = new Row
        {
            ImageId = "17",
            SegmentMap = [5, 5, 9, 9, 0, 3, 9, 5],
            SegmentIds = [5, 9],
            CategoryIds = [40, 7],
            IsCrowd = [true, false],
            PredictedSemanticMap = [40, 7, 7, 7, 200, 200, 7, 40],
        };
        var ml = new MLContext(seed: 1);
        var accumulator = ml.SemanticSegmentation().Accumulate(ml.Data.LoadFromEnumerable([row]), Categories);
        // [predicted, ground truth]: dog→dog 2, sky→dog 1, sky→sky 3, road→ignored 2.
        Assert.AreEqual(2L, accumulator[0, 0]);
        Assert.AreEqual(1L, accumulator[1, 0]);
        Assert.AreEqual(3L, accumulator[1, 1]);
        Assert.AreEqual(2L, accumulator[2, 3], "void and unlisted segments are ignored (the extra column)");
        Assert.AreEqual(8L, Enumerable.Range(0, 3).Sum(p => Enumerable.Range(0, 4).Sum(g => accumulator[p, g])));

        var metrics = ml.SemanticSegmentation().Evaluate(ml.Data.LoadFromEnumerable([row]), Categories);
        // IoU dog = 2 / (2 + 1 + 0) , sky = 3 / (3 + 1 + 0); road has no ground truth and no prediction over labelled pixels.
        Assert.AreEqual(2.0 / 3, metrics.PerClass[0].IoU, 1e-12);
        Assert.AreEqual(3.0 / 4, metrics.PerClass[1].IoU, 1e-12);
    }

    [TestMethod]
    public void AnUnknownPredictedCategoryOrASizeMismatchIsNamedByImage()
    {
        var ml = new MLContext(seed: 1);
        var row = new Row { ImageId = "3", SegmentMap = [9, 9], SegmentIds = [9], CategoryIds = [7], IsCrowd = [false], PredictedSemanticMap = [7, 8] };
        var e = Assert.ThrowsExactly<DataFormatException>(() => ml.SemanticSegmentation().Evaluate(ml.Data.LoadFromEnumerable([row]), Categories));
        StringAssert.Contains(e.Message, "predicted category 8 at pixel 1");
        StringAssert.Contains(e.Message, "image id 3");
        row.PredictedSemanticMap = [7];
        e = Assert.ThrowsExactly<DataFormatException>(() => ml.SemanticSegmentation().Evaluate(ml.Data.LoadFromEnumerable([row]), Categories));
        StringAssert.Contains(e.Message, "size mismatch");
    }
}
