using System.Text.Json.Nodes;
using Microsoft.ML.Data;
using Microsoft.ML.Mask2Former.Data;
using Microsoft.ML.Mask2Former.Formats;
using Microsoft.ML.Mask2Former.Scoring;
using Microsoft.ML.Mask2Former.Synthetic;

namespace Microsoft.ML.Mask2Former.Training.Tests.Training;

/// <summary>
/// A data set whose category ids have gaps (things 1, 2, 7, 9; stuff 20, 33, 51, listed out of
/// order) keeps its ids from training to the COCO JSON at the end, on both paths a user takes:
/// the command line (train → export → segment → eval) and the ML.NET estimator (Fit → Transform →
/// Evaluate). The PQ at the end equals the trainer's own validation PQ on the same images: one
/// resize, one letterbox, one evaluator.
/// </summary>
[TestClass]
public sealed class GappedCategoryIdsTests
{
    private static readonly int[] ThingIds = [1, 2, 7, 9];
    private static readonly int[] StuffIds = [20, 33, 51];

    public TestContext TestContext { get; set; } = null!;

    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = global::Mask2Former.Cli.Program.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    // Two 72×56 images (not the model's 64×64, not square): large shapes in colours of their own, so
    // a few hundred steps give a confident model and a non-trivial PQ at the default thresholds.
    private static string Data() => TrainingFixtures.SyntheticWithGappedIds(new SyntheticPanopticOptions
    {
        ImageCount = 2, Width = 72, Height = 56, MaxThingsPerImage = 2, MinThingSize = 0.3, MaxThingSize = 0.45, ColourByCategory = true, Seed = 5,
    });

    [TestMethod]
    [DoNotParallelize]
    [Timeout(240_000, CooperativeCancellation = true)]
    public void CommandLineKeepsTheIdsAndScoresTheValidationPanopticQuality()
    {
        var data = Data();
        var work = TestPaths.NewTempFolder();
        var run = Path.Combine(work, "run");
        var config = Path.Combine(work, "tiny.json");
        File.WriteAllText(config, TrainingFixtures.Tiny().ToJson());
        var (code, _, err) = Run("train", "--data", data, "--config", config, "--steps", "300", "--batch", "2", "--size", "64", "--out", run,
            "--lr", "1e-3", "--schedule", "poly", "--resize", "resize", "--points", "512", "--val", data, "--val-every", "300", "--report-every", "100");
        Assert.AreEqual(0, code, err);
        var validation = File.ReadLines(Path.Combine(run, "log.jsonl")).Select(l => JsonNode.Parse(l)!.AsObject()).Last(o => o["pq"] is not null);
        var validationPq = validation["pq"]!.GetValue<double>();
        TestContext.WriteLine($"trainer's validation PQ {validationPq}");
        Assert.IsGreaterThan(0.3, validationPq, "the model must segment something for the comparison to mean anything");

        // The run folder is a complete model: its config.json carries the data set's categories.
        var categories = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "config.json")))!["categories"]!.AsArray();
        CollectionAssert.AreEqual(new[] { 20, 7, 1, 33, 2, 9, 51 }, categories.Select(c => c!["id"]!.GetValue<int>()).ToArray());

        var onnx = Path.Combine(work, "model.onnx");
        (code, _, err) = Run("export", "--model", run, "--out", onnx, "--fixed", "64x64");
        Assert.AreEqual(0, code, err);
        var predJson = Path.Combine(work, "pred.json");
        var predPng = Path.Combine(work, "pred");
        (code, _, err) = Run("segment", "--model", onnx, "--images", Path.Combine(data, "images"), "--out-json", predJson, "--out-folder", predPng);
        Assert.AreEqual(0, code, err);

        var predicted = CocoPanopticDataset.Load(predJson);
        var groundTruth = CocoPanopticDataset.Load(Path.Combine(data, "panoptic.json"));
        CollectionAssert.AreEquivalent(groundTruth.Categories.Select(c => (c.Id, c.IsThing)).ToArray(), predicted.Categories.Select(c => (c.Id, c.IsThing)).ToArray(),
            "the predictions list the data set's categories with their thing/stuff flags");
        var used = predicted.Annotations.SelectMany(a => a.Segments).ToArray();
        Assert.IsTrue(used.Any(s => StuffIds.Contains(s.CategoryId)) && used.Any(s => ThingIds.Contains(s.CategoryId)), "things and stuff predicted with the data set's ids");
        foreach (var a in predicted.Annotations)
        {
            var stuff = a.Segments.Where(s => StuffIds.Contains(s.CategoryId)).Select(s => s.CategoryId).ToArray();
            Assert.AreEqual(stuff.Length, stuff.Distinct().Count(), $"image {a.ImageId}: stuff of one category is one segment");
        }

        var metricsJson = Path.Combine(work, "pq.json");
        (code, _, err) = Run("eval", "panoptic", "--gt-json", Path.Combine(data, "panoptic.json"), "--gt-folder", Path.Combine(data, "panoptic"),
            "--pred-json", predJson, "--pred-folder", predPng, "--json", metricsJson);
        Assert.AreEqual(0, code, err);
        var pq = JsonNode.Parse(File.ReadAllText(metricsJson))!["panoptic"]!["All"]!["pq"]!.GetValue<double>();
        Assert.AreEqual(validationPq, pq, 0.0, "m2f eval's PQ of the exported model is the trainer's validation PQ");
    }

    [TestMethod]
    [DoNotParallelize]
    [Timeout(240_000, CooperativeCancellation = true)]
    public void EstimatorKeepsTheIdsAndEvaluatesWithoutColumnNames()
    {
        var data = Data();
        var ml = new MLContext(seed: 1);
        var view = ml.Data.LoadFromCocoPanoptic(Path.Combine(data, "panoptic.json"), Path.Combine(data, "panoptic"), Path.Combine(data, "images"));
        var options = TrainingFixtures.Fast(steps: 300, size: 64);
        options.Schedule = Optimization.LearningRateScheduleKind.Poly;
        options.ValidationFolder = data;
        options.ValidationInterval = 300;
        options.OutputFolder = Path.Combine(TestPaths.NewTempFolder(), "run");
        var estimator = ml.PanopticSegmentation().Mask2Former(options);

        var model = estimator.Fit(view);
        var validation = estimator.LastResult!.Validation!;
        TestContext.WriteLine(validation.ToString());
        Assert.IsGreaterThan(0.3, validation.PanopticQuality, "the model must segment something for the comparison to mean anything");

        var scored = model.Transform(view);
        var metrics = ml.PanopticSegmentation().Evaluate(scored, view.Categories);
        Assert.AreEqual(validation.PanopticQuality, metrics.PanopticQuality, 0.0, "the pipeline's PQ is the trainer's validation PQ");
        Assert.AreEqual(validation.Things.PanopticQuality, metrics.Things.PanopticQuality, 0.0);
        Assert.AreEqual(validation.Stuff.PanopticQuality, metrics.Stuff.PanopticQuality, 0.0);

        var ids = scored.GetColumn<VBuffer<int>>(PanopticColumnNames.PredictedCategoryIds).SelectMany(v => v.DenseValues()).ToArray();
        Assert.IsTrue(ids.Length > 0 && ids.All(id => ThingIds.Contains(id) || StuffIds.Contains(id)), $"predicted ids {string.Join(", ", ids)} are the data set's");
        var isThing = scored.GetColumn<VBuffer<bool>>(PanopticColumnNames.PredictedIsThing).SelectMany(v => v.DenseValues()).ToArray();
        CollectionAssert.AreEqual(ids.Select(id => ThingIds.Contains(id)).ToArray(), isThing);

        // Instances and semantic classes of the same model, again without a column name anywhere.
        var images = ml.Transforms.LoadImages(PanopticColumnNames.Image, null, PanopticColumnNames.ImagePath);
        var instances = images.Append(ml.Transforms.SegmentInstances(new SegmentInstancesOptions { ModelPath = estimator.OnnxPath })).Fit(view).Transform(view);
        var ap = ml.InstanceSegmentation().Evaluate(instances, view.Categories);
        var semantic = images.Append(ml.Transforms.SegmentSemantic(new SegmentSemanticOptions { ModelPath = estimator.OnnxPath })).Fit(view).Transform(view);
        var miou = ml.SemanticSegmentation().Evaluate(semantic, view.Categories);
        TestContext.WriteLine($"mask AP {ap.AveragePrecision:F4}, mIoU {miou.MeanIoU:F4}");
        Assert.IsGreaterThan(0.3, ap.AveragePrecision, ap.ToString());
        Assert.IsGreaterThan(0.5, miou.MeanIoU, miou.ToString());
        var pixels = semantic.GetColumn<VBuffer<uint>>(PanopticColumnNames.PredictedSemanticMap).SelectMany(v => v.DenseValues()).Distinct().ToArray();
        Assert.IsTrue(pixels.All(id => ThingIds.Contains((int)id) || StuffIds.Contains((int)id)), "the semantic map holds the data set's ids");
    }
}
