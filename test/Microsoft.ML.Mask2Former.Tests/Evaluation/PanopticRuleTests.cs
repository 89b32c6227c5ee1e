using Microsoft.ML.Mask2Former.Evaluation;
using Microsoft.ML.Mask2Former.Formats;

namespace Microsoft.ML.Mask2Former.Tests.Evaluation;

/// <summary>
/// One test per panopticapi matching rule, on tiny in-memory maps whose counts are worked out by
/// hand in each test (A and B are things, S is stuff; maps are one row of pixels, 0 = void).
/// </summary>
[TestClass]
public sealed class PanopticRuleTests
{
    private const int A = 1, B = 2, S = 3, Unused = 4;

    private static readonly CocoPanopticCategory[] Categories =
    [
        new(A, "a", IsThing: true), new(B, "b", IsThing: true), new(S, "s", IsThing: false), new(Unused, "unused", IsThing: true),
    ];

    private static CocoPanopticSegment Seg(uint id, int category, bool crowd = false, long? area = null) => new(id, category, crowd, area);

    private static PanopticQualityAccumulator Evaluate(uint[] gt, CocoPanopticSegment[] gtSegments, uint[] pred, CocoPanopticSegment[] predSegments)
    {
        var evaluator = new PanopticEvaluator(Categories);
        var acc = new PanopticQualityAccumulator();
        acc.Add(evaluator.EvaluateImage("1", gt, gtSegments, pred, predSegments));
        return acc;
    }

    [TestMethod]
    public void IouOfExactlyOneHalfIsNotAMatch()
    {
        // gt 1 covers 4 of 8 pixels, pred 7 covers all 8: inter 4, union 8 + 4 - 4 = 8, IoU 0.5.
        var acc = Evaluate([1, 1, 1, 1, 3, 3, 3, 3], [Seg(1, A), Seg(3, S)], [7, 7, 7, 7, 7, 7, 7, 7], [Seg(7, A)]);
        Assert.AreEqual(new PanopticCounts(0, 1, 1, 0), acc[A]);
        Assert.AreEqual(new PanopticCounts(0, 0, 1, 0), acc[S]);
    }

    [TestMethod]
    public void IouAboveOneHalfIsAMatch()
    {
        // gt 1 covers 5 of 8: inter 5, union 8 + 5 - 5 = 8, IoU 0.625.
        var acc = Evaluate([1, 1, 1, 1, 1, 3, 3, 3], [Seg(1, A), Seg(3, S)], [7, 7, 7, 7, 7, 7, 7, 7], [Seg(7, A)]);
        Assert.AreEqual(new PanopticCounts(1, 0, 0, 0.625), acc[A]);
        Assert.AreEqual(new PanopticCounts(0, 0, 1, 0), acc[S]);
    }

    [TestMethod]
    public void UnionLeavesOutPredictedPixelsOnVoid()
    {
        // pred 7 = 4 pixels, 2 on void: union = 4 + 2 - 2 - 2 = 2, IoU 1.
        var acc = Evaluate([1, 1, 0, 0], [Seg(1, A)], [7, 7, 7, 7], [Seg(7, A)]);
        Assert.AreEqual(new PanopticCounts(1, 0, 0, 1.0), acc[A]);
    }

    [TestMethod]
    public void GroundTruthAreaComesFromTheJson()
    {
        // PNG area of gt 1 is 2, JSON says 4: union = 2 + 4 - 2 = 4, IoU 0.5, no match.
        var acc = Evaluate([1, 1, 0, 0], [Seg(1, A, area: 4)], [7, 7, 0, 0], [Seg(7, A)]);
        Assert.AreEqual(new PanopticCounts(0, 1, 1, 0), acc[A]);
        // Without a JSON area the PNG count is used: IoU 1.
        acc = Evaluate([1, 1, 0, 0], [Seg(1, A)], [7, 7, 0, 0], [Seg(7, A)]);
        Assert.AreEqual(new PanopticCounts(1, 0, 0, 1.0), acc[A]);
    }

    [TestMethod]
    public void PredictionAreaComesFromThePngNotTheJson()
    {
        // The prediction JSON claims area 100; the PNG says 2. IoU must be 1.
        var acc = Evaluate([1, 1, 0, 0], [Seg(1, A)], [7, 7, 0, 0], [Seg(7, A, area: 100)]);
        Assert.AreEqual(new PanopticCounts(1, 0, 0, 1.0), acc[A]);
    }

    [TestMethod]
    public void CategoriesMustAgreeToMatch()
    {
        var acc = Evaluate([1, 1, 1, 1], [Seg(1, A)], [7, 7, 7, 7], [Seg(7, B)]);
        Assert.AreEqual(new PanopticCounts(0, 0, 1, 0), acc[A]);
        Assert.AreEqual(new PanopticCounts(0, 1, 0, 0), acc[B]);
    }

    [TestMethod]
    public void MostlyVoidPredictionIsNotAFalsePositive()
    {
        // pred 8 (B) = 4 pixels, 3 on void: 3/4 > 0.5, ignored. pred 9 (A): inter 4, union 4 + 5 - 4 = 5, IoU 0.8.
        var acc = Evaluate([0, 0, 0, 1, 1, 1, 1, 1], [Seg(1, A)], [8, 8, 8, 8, 9, 9, 9, 9], [Seg(8, B), Seg(9, A)]);
        Assert.AreEqual(new PanopticCounts(1, 0, 0, 0.8), acc[A]);
        Assert.AreEqual(new PanopticCounts(0, 0, 0, 0), acc[B]);
    }

    [TestMethod]
    public void HalfVoidPredictionIsAFalsePositive()
    {
        // pred 8 (B) = 4 pixels, 2 on void: 2/4 = 0.5 is not > 0.5, so it counts.
        var acc = Evaluate([0, 0, 1, 1, 1, 1], [Seg(1, A)], [8, 8, 8, 8, 0, 0], [Seg(8, B)]);
        Assert.AreEqual(new PanopticCounts(0, 1, 0, 0), acc[B]);
        Assert.AreEqual(new PanopticCounts(0, 0, 1, 0), acc[A]);
    }

    [TestMethod]
    public void CrowdIsNeverMatchedNorAFalseNegative()
    {
        // gt 1 is crowd and identical to pred 7: no tp, no fn; pred 7 lies wholly on the crowd of its category, so no fp.
        var acc = Evaluate([1, 1, 1, 1], [Seg(1, A, crowd: true)], [7, 7, 7, 7], [Seg(7, A)]);
        Assert.AreEqual(new PanopticCounts(0, 0, 0, 0), acc[A]);
    }

    [TestMethod]
    public void OnlyTheLastCrowdSegmentOfACategoryAbsorbsFalsePositives()
    {
        // Crowd 1 then crowd 2, both A (2 is last in JSON order). pred 8 on crowd 1: not absorbed -> fp. pred 9 on crowd 2: absorbed.
        var acc = Evaluate([1, 1, 1, 1, 2, 2, 2, 2], [Seg(1, A, crowd: true), Seg(2, A, crowd: true)],
            [8, 8, 8, 8, 9, 9, 9, 9], [Seg(8, A), Seg(9, A)]);
        Assert.AreEqual(new PanopticCounts(0, 1, 0, 0), acc[A]);

        // The same with the JSON order reversed: now crowd 1 is the last one.
        acc = Evaluate([1, 1, 1, 1, 2, 2, 2, 2], [Seg(2, A, crowd: true), Seg(1, A, crowd: true)],
            [8, 8, 8, 8, 9, 9, 9, 9], [Seg(8, A), Seg(9, A)]);
        Assert.AreEqual(new PanopticCounts(0, 1, 0, 0), acc[A]);
    }

    [TestMethod]
    public void CrowdOfAnotherCategoryDoesNotAbsorb()
    {
        var acc = Evaluate([2, 2, 2, 2], [Seg(2, B, crowd: true)], [9, 9, 9, 9], [Seg(9, A)]);
        Assert.AreEqual(new PanopticCounts(0, 1, 0, 0), acc[A]);
    }

    [TestMethod]
    public void VoidAndCrowdTogetherAbsorb()
    {
        // pred 9 (A): 1 pixel on void + 2 on crowd A + 2 on gt 3 (S): (1 + 2)/5 > 0.5, ignored.
        var acc = Evaluate([0, 1, 1, 3, 3, 3, 3], [Seg(1, A, crowd: true), Seg(3, S)], [9, 9, 9, 9, 9, 0, 0], [Seg(9, A)]);
        Assert.AreEqual(new PanopticCounts(0, 0, 0, 0), acc[A]);
        Assert.AreEqual(new PanopticCounts(0, 0, 1, 0), acc[S]);
    }

    [TestMethod]
    public void AveragesSkipCategoriesThatNeverOccurred()
    {
        // A: one match IoU 1 (PQ 1); S: one fn (PQ 0); B and Unused never occur.
        var acc = Evaluate([1, 1, 3, 3], [Seg(1, A), Seg(3, S)], [7, 7, 0, 0], [Seg(7, A)]);
        var m = acc.ComputeMetrics(Categories);
        Assert.AreEqual(2, m.All.CategoryCount);
        Assert.AreEqual(0.5, m.All.PanopticQuality, 1e-15);
        Assert.AreEqual(1, m.Things.CategoryCount);
        Assert.AreEqual(1.0, m.Things.PanopticQuality, 1e-15);
        Assert.AreEqual(1, m.Stuff.CategoryCount);
        Assert.AreEqual(0.0, m.Stuff.PanopticQuality, 1e-15);
        var unused = m.PerClass.Single(c => c.CategoryId == Unused);
        Assert.IsFalse(unused.IsCounted);
        Assert.AreEqual(0.0, unused.PanopticQuality);
    }

    [TestMethod]
    public void AGroupWithoutCountedCategoriesIsNaN()
    {
        var acc = Evaluate([1, 1], [Seg(1, A)], [7, 7], [Seg(7, A)]);
        var m = acc.ComputeMetrics(Categories);
        Assert.AreEqual(0, m.Stuff.CategoryCount);
        Assert.IsTrue(double.IsNaN(m.Stuff.PanopticQuality));
        StringAssert.Contains(m.ToString(), "Stuff     |   nan    nan    nan     0");
    }

    [TestMethod]
    public void PerClassFormulasFollowPanopticapi()
    {
        // A: 2 matches (IoU 1 each), 0 fp, 1 fn -> PQ = 2 / (2 + 0.5), SQ = 2 / 2, RQ = 2 / 2.5.
        uint[] gt = [1, 1, 1, 1, 2, 2, 2, 0, 4, 4, 0, 0];
        uint[] pr = [7, 7, 7, 7, 8, 8, 8, 8, 0, 0, 9, 9];
        var acc = Evaluate(gt, [Seg(1, A), Seg(2, A), Seg(4, A)], pr, [Seg(7, A), Seg(8, A), Seg(9, A)]);
        // gt 2 vs pred 8: inter 3, union 4 + 3 - 3 - 1 (pred on void) = 3 -> IoU 1. Pred 9: 2 of 2 on void -> ignored.
        Assert.AreEqual(new PanopticCounts(2, 0, 1, 2.0), acc[A]);
        var c = acc.ComputeMetrics(Categories).PerClass.Single(x => x.CategoryId == A);
        Assert.AreEqual(2.0 / 2.5, c.PanopticQuality, 1e-15);
        Assert.AreEqual(1.0, c.SegmentationQuality, 1e-15);
        Assert.AreEqual(2 / 2.5, c.RecognitionQuality, 1e-15);
    }
}
