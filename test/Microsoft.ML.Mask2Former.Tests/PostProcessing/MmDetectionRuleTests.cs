using Microsoft.ML.Mask2Former.PostProcessing;

namespace Microsoft.ML.Mask2Former.Tests.PostProcessing;

/// <summary>
/// mmdetection's <c>MaskFormerFusionHead</c> rules that the reference images do not exercise, on
/// hand-made logits whose mask size equals the output size (every resize is then the identity).
/// Two classes: 0 is a thing, 1 is stuff; logit 2 is "no object", so void is 2.
/// </summary>
[TestClass]
public sealed class MmDetectionRuleTests
{
    private static readonly float[] Thing = [5, 0, 0];
    private static readonly float[] WeakerThing = [4, 0, 0];
    private static readonly float[] Stuff = [0, 5, 0];
    private static readonly float[] NoObject = [0, 0, 5];

    private static MmDetectionPanopticResult Panoptic(float[][] classes, float[][] masks, bool filterLowScore = true, double iou = 0.8) =>
        MmDetectionPostProcessor.Panoptic(Logits(classes, masks), ImageGeometry.Unpadded(1, masks[0].Length),
            new MmDetectionOptions { FilterLowScore = filterLowScore, IouThreshold = iou, ThingClasses = [0] });

    private static Mask2FormerLogits Logits(float[][] classes, float[][] masks) =>
        new(classes.SelectMany(c => c).ToArray(), masks.SelectMany(m => m).ToArray(), classes.Length, 2, 1, masks[0].Length);

    /// <summary>
    /// Query 0 wins pixels 2–9 only where its own probability is below 0.5 (its confident pixels go to
    /// query 1), so 8 / 2 passes the area test: it is accepted and spends instance id 1, then keeps
    /// no pixel under <c>filter_low_score</c>. Query 1 becomes instance 2. detectron2 skips query 0.
    /// </summary>
    [TestMethod]
    public void AnAcceptedThingThatLosesEveryPixelToTheFilterStillSpendsItsInstanceId()
    {
        float[][] classes = [Thing, WeakerThing];
        float[][] masks = [[2, 2, -0.1f, -0.1f, -0.1f, -0.1f, -0.1f, -0.1f, -0.1f, -0.1f], [5, 5, -5, -5, -5, -5, -5, -5, -5, -5]];
        var filtered = Panoptic(classes, masks);
        CollectionAssert.AreEqual(new[] { 2000, 2000, 2, 2, 2, 2, 2, 2, 2, 2 }, filtered.PanResults.ToArray());
        CollectionAssert.AreEqual(new[] { "1000:1:0", "2000:2:2" }, filtered.Segments.Select(s => $"{s.Value}:{s.InstanceId}:{s.Area}").ToArray());
        Assert.IsTrue(filtered.Segments[0].Box.IsEmpty);

        var unfiltered = Panoptic(classes, masks, filterLowScore: false);
        CollectionAssert.AreEqual(new[] { 2000, 2000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000 }, unfiltered.PanResults.ToArray());

        // Converted, the empty segment is gone and ids are consecutive: detectron2's result.
        var converted = filtered.ToPanopticResult();
        CollectionAssert.AreEqual(new[] { 1, 1, 0, 0, 0, 0, 0, 0, 0, 0 }, converted.SegmentIds.ToArray());
        Assert.HasCount(1, converted.Segments);
        Assert.AreEqual((1, 0, true, 2L), (converted.Segments[0].Id, converted.Segments[0].CategoryId, converted.Segments[0].IsThing, converted.Segments[0].Area));
        CollectionAssert.AreEqual(new[] { 1 }, converted.Segments[0].Queries.ToArray());
        var detectron2 = Mask2FormerPostProcessor.Panoptic(Logits(classes, masks), ImageGeometry.Unpadded(1, 10), new PanopticOptions { ThingClasses = [0] });
        CollectionAssert.AreEqual(detectron2.SegmentIds.ToArray(), converted.SegmentIds.ToArray());
    }

    /// <summary>Equal products go to the first query (<c>argmax</c>); a kept query that wins no pixel is skipped and spends no id.</summary>
    [TestMethod]
    public void TiesGoToTheFirstQueryAndAQueryWithoutPixelsSpendsNoId()
    {
        var result = Panoptic([Thing, Thing, Thing], [[3, 3, -3, -3], [3, 3, -3, -3], [-3, -3, 3, 3]]);
        CollectionAssert.AreEqual(new[] { 1000, 1000, 2000, 2000 }, result.PanResults.ToArray());
        CollectionAssert.AreEqual(new[] { "0:1", "2:2" }, result.Segments.Select(s => $"{string.Join(",", s.Queries)}:{s.InstanceId}").ToArray());
        CollectionAssert.AreEqual(new[] { 0, 1, 2 }, result.KeptQueries.ToArray());
    }

    /// <summary>4 of 5 own pixels visible is exactly 0.8: it passes <c>iou_thr</c> 0.8 (the test is <c>&lt;</c>) and fails 0.81, leaving void.</summary>
    [TestMethod]
    public void AnAreaRatioEqualToTheIouThresholdPasses()
    {
        float[][] classes = [Thing, Thing];
        float[][] masks = [[3, 3, 3, 3, 3], [-3, -3, -3, -3, 6]];
        CollectionAssert.AreEqual(new[] { 1000, 1000, 1000, 1000, 2000 }, Panoptic(classes, masks, iou: 0.8).PanResults.ToArray());
        CollectionAssert.AreEqual(new[] { 2, 2, 2, 2, 1000 }, Panoptic(classes, masks, iou: 0.81).PanResults.ToArray());
        CollectionAssert.AreEqual(new[] { 2, 2, 2, 2, 1000 }, Panoptic(classes, masks, filterLowScore: false, iou: 0.81).PanResults.ToArray());
    }

    /// <summary>Stuff queries of one class share the value <c>class</c> (one segment) and spend no instance id.</summary>
    [TestMethod]
    public void StuffOfOneClassIsOneSegmentWithoutAnInstanceId()
    {
        var result = Panoptic([Stuff, Stuff, Thing], [[3, 3, -3, -3, -3, -3], [-3, -3, 3, 3, -3, -3], [-3, -3, -3, -3, 3, 3]]);
        CollectionAssert.AreEqual(new[] { 1, 1, 1, 1, 1000, 1000 }, result.PanResults.ToArray());
        CollectionAssert.AreEqual(new[] { "1:0:s:4:0,1", "1000:1:t:2:2" },
            result.Segments.Select(s => $"{s.Value}:{s.InstanceId}:{(s.IsThing ? "t" : "s")}:{s.Area}:{string.Join(",", s.Queries)}").ToArray());
        var converted = result.ToPanopticResult();
        CollectionAssert.AreEqual(new[] { 1, 1, 1, 1, 2, 2 }, converted.SegmentIds.ToArray());
        CollectionAssert.AreEqual(new[] { "1:1:s:4", "2:0:t:2" }, converted.Segments.Select(s => $"{s.Id}:{s.CategoryId}:{(s.IsThing ? "t" : "s")}:{s.Area}").ToArray());
    }

    /// <summary>"No object" as the best class, or a best probability not above the threshold, keeps nothing: every pixel is void (K).</summary>
    [TestMethod]
    public void WithNothingKeptEveryPixelIsVoid()
    {
        var result = Panoptic([NoObject, [1, 0.5f, 0]], [[3, 3, 3], [3, 3, 3]]);
        Assert.AreEqual(2, result.VoidLabel);
        CollectionAssert.AreEqual(new[] { 2, 2, 2 }, result.PanResults.ToArray());
        Assert.IsEmpty(result.Segments);
        Assert.IsEmpty(result.KeptQueries);
        CollectionAssert.AreEqual(new[] { 0, 0, 0 }, result.ToPanopticResult().SegmentIds.ToArray());
    }

    /// <summary>
    /// <c>max_per_image</c> above queries × classes keeps every pair (mmdetection would fail); stuff
    /// pairs are dropped after the top-k; an empty mask has score 0 and box [0, 0, 0, 0] (<c>mask2bbox</c>).
    /// </summary>
    [TestMethod]
    public void InstancesAreThingsOnlyWithMask2BboxBoxes()
    {
        var logits = Logits([Thing, [0, 4, 0]], [[-1, 2, 2, -1], [-1, -1, -1, -1]]);
        var result = MmDetectionPostProcessor.Instances(logits, ImageGeometry.Unpadded(1, 4), new MmDetectionOptions { MaxPerImage = 100, ThingClasses = [0] });
        Assert.HasCount(2, result.Instances, "the class-0 pair of each query");
        var byQuery = result.Instances.OrderBy(p => p.QueryIndex).ToArray();
        Assert.AreEqual((0, 0), (byQuery[0].QueryIndex, byQuery[0].ClassId));
        Assert.AreEqual(new PixelBox(1, 0, 2, 1), byQuery[0].Box, "x1 = 1, y1 = 0, x2 = 3, y2 = 1");
        Assert.AreEqual(2L, byQuery[0].Mask.Area);
        Assert.AreEqual((1, 0), (byQuery[1].QueryIndex, byQuery[1].ClassId));
        Assert.AreEqual(default, byQuery[1].Box);
        Assert.AreEqual(0f, byQuery[1].Score);

        var top1 = MmDetectionPostProcessor.Instances(logits, ImageGeometry.Unpadded(1, 4), new MmDetectionOptions { MaxPerImage = 1, ThingClasses = [0] });
        Assert.HasCount(1, top1.Instances);
        Assert.AreEqual(0, top1.Instances[0].QueryIndex);
        var onlyStuff = MmDetectionPostProcessor.Instances(Logits([Stuff], [[1, 1, 1, 1]]), ImageGeometry.Unpadded(1, 4), new MmDetectionOptions { MaxPerImage = 1, ThingClasses = [0] });
        Assert.IsEmpty(onlyStuff.Instances, "the top pair is stuff: nothing is left");
        Assert.ThrowsExactly<ArgumentException>(() => MmDetectionPostProcessor.Instances(Logits([Thing], [[1, 1, 1, 1]]), ImageGeometry.Unpadded(1, 4), new MmDetectionOptions { MaxPerImage = -1 }));
    }

    [TestMethod]
    public void AThingClassOutsideTheModelIsRefused()
    {
        var e = Assert.ThrowsExactly<ArgumentException>(() => MmDetectionPostProcessor.Panoptic(Logits([Thing], [[1]]), ImageGeometry.Unpadded(1, 1), new MmDetectionOptions { ThingClasses = [2] }));
        StringAssert.Contains(e.Message, "Thing class 2");
    }
}
