using Microsoft.ML.Data;
using Microsoft.ML.Mask2Former.Data;
using Microsoft.ML.Mask2Former.Synthetic;

namespace Microsoft.ML.Mask2Former.Training.Tests.Training;

/// <summary>
/// The ML.NET face of training: <c>Fit(IDataView)</c> on a COCO panoptic view trains, exports and
/// returns a scoring transformer whose predictions the panoptic evaluator reads beside the ground truth.
/// </summary>
[TestClass]
public sealed class PanopticEstimatorTests
{
    [TestMethod]
    public void FitTrainsExportsAndReturnsAScoringTransformer()
    {
        var folder = TrainingFixtures.Synthetic(images: 6, size: 64, maxThings: 2, seed: 3);
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromCocoPanoptic(Path.Combine(folder, "panoptic.json"), Path.Combine(folder, "panoptic"), Path.Combine(folder, "images"));
        var options = TrainingFixtures.Fast(steps: 6, size: 64);
        options.OutputFolder = Path.Combine(TestPaths.NewTempFolder(), "run");
        var estimator = ml.PanopticSegmentation().Mask2Former(options);

        var model = estimator.Fit(data);
        Assert.IsTrue(File.Exists(estimator.OnnxPath), "the trained network was exported");
        Assert.AreEqual(6, estimator.LastResult!.Steps);
        var scored = model.Transform(data);
        Assert.IsNotNull(scored.Schema.GetColumnOrNull(PanopticColumnNames.PredictedSegmentMap));
        Assert.IsNotNull(scored.Schema.GetColumnOrNull(PanopticColumnNames.SegmentMap), "the ground truth stays beside the predictions");

        var metrics = ml.PanopticSegmentation().Evaluate(scored, data.Categories);
        Assert.AreEqual(6L, metrics.ImageCount);
        Assert.HasCount(SyntheticPanopticDataset.Categories.Count, metrics.PerClass);
        Assert.IsGreaterThan(0L, scored.GetColumn<VBuffer<uint>>(PanopticColumnNames.PredictedSegmentMap).First().Length);
    }

    [TestMethod]
    public void OnlyACocoPanopticViewWithImagesCanBeTrainedOn()
    {
        var ml = new MLContext(seed: 1);
        var estimator = ml.PanopticSegmentation().Mask2Former(TrainingFixtures.Fast(steps: 1, size: 64));
        var other = ml.Data.LoadFromEnumerable(new[] { new { ImagePath = "x.png" } });
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => estimator.Fit(other)).Message, "LoadFromCocoPanoptic");
        var folder = TrainingFixtures.Synthetic(images: 2, size: 64, maxThings: 1, seed: 4);
        var withoutImages = ml.Data.LoadFromCocoPanoptic(Path.Combine(folder, "panoptic.json"), Path.Combine(folder, "panoptic"));
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => estimator.Fit(withoutImages)).Message, "image folder");
    }
}
