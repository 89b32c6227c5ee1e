using Microsoft.ML.Mask2Former.Formats;

namespace Microsoft.ML.Mask2Former.Tests.Formats;

/// <summary>
/// The instance ground truth derived from panoptic ground truth equals the reference's
/// <c>instances_gt.json</c>, which holds the panoptic ground truth's thing segments (made with the
/// Python tools): the same objects in the same order, crowd flags, areas, boxes and masks.
/// </summary>
[TestClass]
public sealed class CocoInstancesFromPanopticTests
{
    [TestMethod]
    [DataRow("sample")]
    [DataRow("synth")]
    public void ThingSegmentsBecomeTheReferenceInstances(string caseName)
    {
        var dir = TestPaths.EvaluationCase(caseName);
        var derived = CocoInstancesDataset.FromPanoptic(CocoPanopticDataset.Load(Path.Combine(dir, "panoptic_gt.json")), Path.Combine(dir, "panoptic_gt"));
        var expected = CocoInstancesDataset.Load(Path.Combine(dir, "instances_gt.json"));
        Assert.HasCount(expected.Annotations.Count, derived.Annotations);
        for (var i = 0; i < expected.Annotations.Count; i++)
        {
            var (e, d) = (expected.Annotations[i], derived.Annotations[i]);
            Assert.AreEqual((e.Id, e.ImageId, e.CategoryId, e.IsCrowd, e.Area), (d.Id, d.ImageId, d.CategoryId, d.IsCrowd, d.Area), $"annotation {i}");
            CollectionAssert.AreEqual(e.BoundingBox!.ToArray(), d.BoundingBox!.ToArray(), $"annotation {i} box");
            expected.TryGetImage(e.ImageId, out var image);
            Assert.AreEqual(e.Segmentation!.ToRle(image.Height, image.Width), d.Segmentation!.ToRle(image.Height, image.Width), $"annotation {i} mask");
        }
        CollectionAssert.IsSubsetOf(expected.Categories.Select(c => c.Id).ToArray(), derived.Categories.Select(c => c.Id).ToArray());
    }
}
