using Microsoft.ML.Mask2Former.Evaluation;
using Microsoft.ML.Mask2Former.Formats;

namespace Microsoft.ML.Mask2Former.Tests.Evaluation.Instances;

/// <summary>Each COCOeval matching rule on a hand-built case whose numbers follow from the rule alone.</summary>
[TestClass]
public sealed class InstanceRuleTests
{
    private static readonly CocoInstanceCategory[] Categories = [new(1, "a"), new(2, "b")];

    private static CocoInstancesDataset Gt(params CocoInstanceAnnotation[] annotations) =>
        new([new CocoImage("1", "1.jpg", 200, 100), new CocoImage("2", "2.jpg", 200, 100)], annotations, Categories);

    private static CocoInstanceAnnotation Box(long id, double x, double y, double w, double h, bool crowd = false, int category = 1, string image = "1", double? area = null) =>
        new(id, image, category, crowd, area ?? w * h, [x, y, w, h], CocoSegmentation.FromPolygons([[x, y, x, y + h, x + w, y + h, x + w, y]]));

    private static CocoDetection Det(double score, double x, double y, double w, double h, int category = 1, string image = "1") =>
        new(image, category, score, [x, y, w, h]);

    private static InstanceSegmentationMetrics Box(CocoInstancesDataset gt, params CocoDetection[] dt) =>
        InstanceEvaluator.Evaluate(gt, dt, InstanceIouType.BoundingBox);

    [TestMethod]
    public void ThresholdsAreNumpysLinspace()
    {
        Assert.AreEqual(0.8999999999999999, InstanceSegmentationMetrics.IouThresholds[8]);
        Assert.AreNotEqual(0.9, InstanceSegmentationMetrics.IouThresholds[8]);
        Assert.AreEqual(0.75, InstanceSegmentationMetrics.IouThresholds[5]);
        Assert.AreEqual(0.95, InstanceSegmentationMetrics.IouThresholds[9]);
        Assert.HasCount(101, InstanceSegmentationMetrics.RecallThresholds);
        Assert.AreEqual(0.07, InstanceSegmentationMetrics.RecallThresholds[7]);
        Assert.AreEqual(1.0, InstanceSegmentationMetrics.RecallThresholds[100], 1e-12);
    }

    // Precision carries pycocotools' np.spacing(1) in its denominator, so "1" is 1 / (1 + 2.2e-16).
    [TestMethod]
    public void APerfectDetectionScoresOneAndCategoriesWithoutGroundTruthAreLeftOut()
    {
        var m = Box(Gt(Box(1, 10, 10, 40, 40)), Det(0.9, 10, 10, 40, 40));
        Assert.AreEqual(1.0, m.AveragePrecision, 1e-12);
        Assert.AreEqual(1.0, m.AverageRecall1, 1e-12);
        Assert.IsTrue(double.IsNaN(m.PerClass[1].AveragePrecision));
        Assert.AreEqual(-1.0, m.GetPrecision(0, 0, 1, 0, 2));
        Assert.AreEqual(-1.0, m.AveragePrecisionLarge, "no large ground truth: nothing to average");
    }

    [TestMethod]
    public void IouEqualToTheThresholdMatches()
    {
        // IoU exactly 0.5: a match at 0.50 (COCOeval needs IoU ≥ t), at no higher threshold.
        var m = Box(Gt(Box(1, 0, 0, 40, 40)), Det(0.9, 0, 0, 40, 20));
        Assert.AreEqual(1.0, m.AveragePrecision50, 1e-12);
        Assert.AreEqual(0.1, m.AveragePrecision, 1e-15);
        // IoU 0.9: matched at the ninth threshold (0.8999999999999999) too.
        var n = Box(Gt(Box(1, 0, 0, 10, 10)), Det(0.9, 0, 0, 9, 10));
        Assert.AreEqual(0.9, n.AveragePrecision, 1e-15);
    }

    [TestMethod]
    public void CrowdAbsorbsDetectionsAndUsesTheDetectionAreaAsUnion()
    {
        var gt = Gt(Box(1, 0, 0, 20, 20), Box(2, 100, 0, 90, 90, crowd: true));
        // Two small detections inside the crowd box (IoU with the crowd = 1 each, although tiny against its area)
        // are ignored, not false positives; the real object is found with a lower score.
        var m = Box(gt, Det(0.95, 110, 10, 10, 10), Det(0.94, 130, 10, 10, 10), Det(0.5, 0, 0, 20, 20));
        Assert.AreEqual(1.0, m.AveragePrecision, 1e-12);
        // The same boxes against a non-crowd region are false positives ranked first.
        var notCrowd = Box(Gt(Box(1, 0, 0, 20, 20), Box(2, 100, 0, 90, 90, category: 2)), Det(0.95, 110, 10, 10, 10), Det(0.94, 130, 10, 10, 10), Det(0.5, 0, 0, 20, 20));
        Assert.IsLessThan(0.5, notCrowd.AveragePrecision);
    }

    [TestMethod]
    public void AreaRangesAreInclusiveAtBothEnds()
    {
        // A ground truth of area exactly 32² counts as small and as medium.
        var m = Box(Gt(Box(1, 0, 0, 32, 32)), Det(0.9, 0, 0, 32, 32));
        Assert.AreEqual(1.0, m.AveragePrecisionSmall, 1e-12);
        Assert.AreEqual(1.0, m.AveragePrecisionMedium, 1e-12);
        Assert.AreEqual(-1.0, m.AveragePrecisionLarge);
        // Ranges use the annotation's area field, not its box.
        var byField = Box(Gt(Box(1, 0, 0, 32, 32, area: 5000)), Det(0.9, 0, 0, 32, 32));
        Assert.AreEqual(-1.0, byField.AveragePrecisionSmall);
        Assert.AreEqual(1.0, byField.AveragePrecisionMedium, 1e-12);
    }

    [TestMethod]
    public void ScoreTiesKeepFileOrder()
    {
        // Equal scores: the false positive listed first ranks first, so precision at full recall is 1/2;
        // listed second, the true positive ranks first and AP is 1.
        var gt = Gt(Box(1, 0, 0, 20, 20));
        var fpFirst = Box(gt, Det(0.5, 100, 50, 20, 20), Det(0.5, 0, 0, 20, 20));
        var tpFirst = Box(gt, Det(0.5, 0, 0, 20, 20), Det(0.5, 100, 50, 20, 20));
        Assert.AreEqual(1.0, tpFirst.AveragePrecision, 1e-12);
        Assert.AreEqual(0.5, fpFirst.AveragePrecision, 1e-12);
    }

    [TestMethod]
    public void AtMostOneHundredDetectionsPerImageAndCategoryCount()
    {
        // 100 false positives outscore the one true positive: it is cut, recall 0.
        var dets = Enumerable.Range(0, 100).Select(i => Det(0.9, 100 + i % 10, 50 + i / 10, 5, 5)).Append(Det(0.1, 0, 0, 20, 20)).ToArray();
        var m = Box(Gt(Box(1, 0, 0, 20, 20)), dets);
        Assert.AreEqual(0.0, m.AverageRecall100);
        // In another image they do not compete.
        var split = dets.Take(100).Select(d => d with { ImageId = "2" }).Append(dets[^1]).ToArray();
        Assert.AreEqual(1.0, Box(Gt(Box(1, 0, 0, 20, 20)), split).AverageRecall100, 1e-12);
    }

    [TestMethod]
    public void AMatchNeverMovesFromACountingGroundTruthToAnIgnoredOne()
    {
        // The detection overlaps a counting object (IoU 0.6) and a crowd region (IoU 1 by detection area):
        // it keeps the counting one, so it is a true positive.
        var gt = Gt(Box(1, 0, 0, 30, 30), Box(2, 0, 0, 200, 100, crowd: true));
        var m = Box(gt, Det(0.9, 0, 0, 18, 30));
        Assert.AreEqual(1.0, m.AveragePrecision50, 1e-12);
    }

    [TestMethod]
    public void MaskApUsesMaskIouAndBoxOnlyResultsBecomeBoxPolygons()
    {
        var gt = Gt(Box(1, 10, 10, 40, 20));
        // A results list whose first entry has a bbox is read with the box branch: no mask, so the box's polygon is the mask.
        var m = InstanceEvaluator.Evaluate(gt, [Det(0.9, 10, 10, 40, 20)], InstanceIouType.Segmentation);
        Assert.AreEqual(1.0, m.AveragePrecision, 1e-12);
        // A mask-only result: area and box come from the mask.
        var mask = CocoRle.FromBoundingBox(10, 10, 40, 20, 100, 200);
        var n = InstanceEvaluator.Evaluate(gt, [new CocoDetection("1", 1, 0.9, null, CocoSegmentation.FromRle(mask))], InstanceIouType.BoundingBox);
        Assert.AreEqual(1.0, n.AveragePrecision, 1e-12);
    }

    [TestMethod]
    public void NoDetectionsGiveZeroNotAFailure()
    {
        var m = Box(Gt(Box(1, 10, 10, 40, 40)));
        Assert.AreEqual(0.0, m.AveragePrecision);
        Assert.AreEqual(0.0, m.AverageRecall100);
    }
}
