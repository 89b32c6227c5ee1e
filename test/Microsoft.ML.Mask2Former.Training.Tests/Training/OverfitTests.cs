using System.Diagnostics;
using Microsoft.ML.Mask2Former.Synthetic;

namespace Microsoft.ML.Mask2Former.Training.Tests.Training;

[TestClass]
public sealed class OverfitTests
{
    public TestContext TestContext { get; set; } = null!;

    /// <summary>
    /// The training machinery (matcher, point-sampled losses, optimizer, schedule) drives a tiny
    /// network to a perfect fit of two synthetic images of rotated shapes: panoptic quality exactly 1,
    /// computed by the exact evaluator on the images at their own resolution.
    /// </summary>
    /// <remarks>
    /// Why 16×16 images trained at 64×64: Mask2Former predicts masks at stride 4 and upsamples them
    /// bilinearly, and its loss compares them with ground truth sampled bilinearly at random points,
    /// which rounds convex corners. At the images' own resolution the best fit is therefore not
    /// pixel-exact: rotated shapes plateau at PQ ≈ 0.99 (the test below), and even an axis-aligned
    /// square with edges on multiples of 8 pixels keeps its four corner pixels wrong (measured by
    /// fitting a free 16×16 logit grid to a 64×64 square with this loss; fitted with a dense
    /// per-pixel loss instead, the same grid gets them right). Scaled 4× by the trainer's plain
    /// resize, each image pixel gets a mask logit of its own, any segmentation is representable and
    /// the loss's optimum is the exact one (the same free-grid fit of a random 16×16 pattern is
    /// exact), so PQ 1 is reachable and a single wrong pixel shows as PQ &lt; 1. Checked when the
    /// settings were chosen: data seeds 5, 7, 11 and 13 and trainer seeds 0–3 first reach PQ 1
    /// between steps 200 and 450 (some dip once afterwards while the learning rate is still high)
    /// and all end at PQ 1 (runs of 500–700 steps).
    /// </remarks>
    [TestMethod]
    [DoNotParallelize]
    [Timeout(180_000, CooperativeCancellation = true)]
    public void TinyModelOverfitsTwoImagesToPanopticQualityOne()
    {
        var data = TestPaths.NewTempFolder();
        // The default generator (rotated circles, squares, triangles and crosses over wavy bands), with
        // shapes large enough to cover at least 12 pixels of a 16×16 image.
        SyntheticPanopticDataset.Generate(data, new SyntheticPanopticOptions
        {
            ImageCount = 2, Width = 16, Height = 16, MaxThingsPerImage = 2, MinThingSize = 0.3, MaxThingSize = 0.5, Seed = 5,
        });
        var result = TrainValidatingOn(data, steps: 700);
        using var network = result.Network;
        var metrics = result.Validation!;
        TestContext.WriteLine(metrics.ToString());
        Assert.AreEqual(2, metrics.ImageCount);
        Assert.IsGreaterThanOrEqualTo(1, metrics.Things.CategoryCount, "shapes are part of the fit");
        Assert.IsGreaterThanOrEqualTo(2, metrics.Stuff.CategoryCount, "background regions are part of the fit");
        Assert.AreEqual(1.0, metrics.PanopticQuality, 0.0, metrics.ToString());
    }

    /// <summary>
    /// At the images' own resolution (64×64 trained at 64×64) the same machinery finds every segment
    /// with its class (RQ 1), and the masks come within the stride-4 limit (PQ > 0.97; 800 steps
    /// plateau at PQ 0.992).
    /// </summary>
    [TestMethod]
    [DoNotParallelize]
    [Timeout(180_000, CooperativeCancellation = true)]
    public void TinyModelFindsEverySegmentAtNativeResolution()
    {
        var data = TrainingFixtures.Synthetic(images: 2, size: 64, maxThings: 2, seed: 5);
        var result = TrainValidatingOn(data, steps: 300);
        using var network = result.Network;
        TestContext.WriteLine(result.Validation!.ToString());
        Assert.AreEqual(1.0, result.Validation!.RecognitionQuality, 1e-12, result.Validation.ToString());
        Assert.IsGreaterThan(0.97, result.Validation.PanopticQuality, result.Validation.ToString());
    }

    // Trains at 64×64 with the poly schedule, validating on the training images every 100 steps.
    private Mask2FormerTrainingResult TrainValidatingOn(string data, int steps)
    {
        var options = TrainingFixtures.Fast(steps: steps, size: 64);
        options.ValidationFolder = data;
        options.ValidationInterval = 100;
        options.Schedule = Optimization.LearningRateScheduleKind.Poly;
        var watch = Stopwatch.StartNew();
        return new Mask2FormerTrainer(options).Fit(data, new SyncProgress(p =>
        {
            if (p.Validation is { } m) TestContext.WriteLine($"{watch.Elapsed.TotalSeconds,6:F1}s step {p.Step}: loss {p.Loss:F3}, PQ {m.PanopticQuality:R}");
        }));
    }
}
