using System.Text.Json;
using Microsoft.ML.Mask2Former.Evaluation;
using Microsoft.ML.Mask2Former.Formats;

namespace Microsoft.ML.Mask2Former.Tests.Evaluation.Instances;

/// <summary>COCO box and mask AP against pycocotools' numbers and printed summary in ../shared/reference/evaluation.</summary>
[TestClass]
public sealed class InstanceReferenceTests
{
    [TestMethod]
    [DataRow("sample", "bbox")]
    [DataRow("sample", "segm")]
    [DataRow("synth", "bbox")]
    [DataRow("synth", "segm")]
    public void TwelveStatsAndSummaryEqualPycocotools(string caseName, string iouType)
    {
        var folder = TestPaths.EvaluationCase(caseName);
        var metrics = InstanceEvaluator.EvaluateFiles(Path.Combine(folder, "instances_gt.json"),
            Path.Combine(folder, $"detections_{iouType}.json"), Parse(iouType));
        var expected = ReferenceExpectations.Load(caseName).GetProperty("coco_" + iouType);

        var stats = expected.GetProperty("stats").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        Assert.HasCount(12, metrics.Stats);
        for (var i = 0; i < 12; i++)
            Assert.AreEqual(stats[i], metrics.Stats[i], 1e-9, $"{caseName} {iouType} {InstanceSegmentationMetrics.StatNames[i]}");
        CollectionAssert.AreEqual(expected.GetProperty("names").EnumerateArray().Select(e => e.GetString()).ToArray(),
            InstanceSegmentationMetrics.StatNames.ToArray());
        CollectionAssert.AreEqual(expected.GetProperty("summary_text").EnumerateArray().Select(e => e.GetString()).ToArray(),
            metrics.SummaryLines.ToArray());
        Assert.AreEqual(string.Concat(metrics.SummaryLines.Select(l => l + "\n")), metrics.ToString());
    }

    [TestMethod]
    [DataRow("synth", "segm")]
    [DataRow("synth", "bbox")]
    [DataRow("sample", "segm")]
    public void ShardsEvaluatedApartAndMergedThroughJsonGiveExactlyTheWholeEvaluation(string caseName, string iouType)
    {
        var folder = TestPaths.EvaluationCase(caseName);
        var gt = CocoInstancesDataset.Load(Path.Combine(folder, "instances_gt.json"));
        var results = CocoResultsFile.Load(Path.Combine(folder, $"detections_{iouType}.json"));
        var whole = InstanceEvaluator.Evaluate(gt, results, Parse(iouType));
        // Three shards by image position, each with only its images' ground truth and detections.
        var order = gt.Images.Select(i => i.Id).ToArray();
        InstanceEvaluationAccumulator? merged = null;
        for (var shard = 2; shard >= 0; shard--)
        {
            var mine = order.Where((_, n) => n % 3 == shard).ToHashSet(StringComparer.Ordinal);
            var part = new CocoInstancesDataset(gt.Images.Where(i => mine.Contains(i.Id)).ToArray(),
                gt.Annotations.Where(a => mine.Contains(a.ImageId)).ToArray(), gt.Categories);
            var accumulator = InstanceEvaluator.Accumulate(part, results.Where(d => mine.Contains(d.ImageId)).ToArray(), Parse(iouType));
            var shipped = InstanceEvaluationAccumulator.FromJson(accumulator.ToJson(), $"shard {shard}");
            if (merged is null) merged = shipped;
            else merged.Add(shipped);
        }
        var metrics = merged!.ComputeMetrics(gt.Categories);
        CollectionAssert.AreEqual(whole.Stats.ToArray(), metrics.Stats.ToArray());
        CollectionAssert.AreEqual(whole.SummaryLines.ToArray(), metrics.SummaryLines.ToArray());
        for (var k = 0; k < whole.PerClass.Count; k++) Assert.AreEqual(whole.PerClass[k], metrics.PerClass[k]);
        Assert.AreEqual(whole.ImageCount, metrics.ImageCount);
        Assert.AreEqual(whole.DetectionCount, metrics.DetectionCount);

        var overlap = InstanceEvaluator.Accumulate(gt, results, Parse(iouType));
        StringAssert.Contains(Assert.ThrowsExactly<DataFormatException>(() => overlap.Add(InstanceEvaluator.Accumulate(gt, results, Parse(iouType)))).Message, "both");
    }

    [TestMethod]
    [DataRow("synth", "segm")]
    [DataRow("sample", "bbox")]
    public void ThreadCountDoesNotChangeAnyNumber(string caseName, string iouType)
    {
        var folder = TestPaths.EvaluationCase(caseName);
        var gt = CocoInstancesDataset.Load(Path.Combine(folder, "instances_gt.json"));
        var results = CocoResultsFile.Load(Path.Combine(folder, $"detections_{iouType}.json"));
        var one = InstanceEvaluator.Evaluate(gt, results, Parse(iouType), new InstanceEvaluatorOptions { Threads = 1 });
        var four = InstanceEvaluator.Evaluate(gt, results, Parse(iouType), new InstanceEvaluatorOptions { Threads = 4 });
        CollectionAssert.AreEqual(one.Stats.ToArray(), four.Stats.ToArray());
        for (var k = 0; k < one.PerClass.Count; k++)
        {
            Assert.AreEqual(one.PerClass[k], four.PerClass[k]);
            for (var t = 0; t < 10; t++)
                for (var r = 0; r < 101; r += 7)
                    Assert.AreEqual(one.GetPrecision(t, r, k, 0, 2), four.GetPrecision(t, r, k, 0, 2));
        }
    }

    [TestMethod]
    public void PerClassApIsTheMeanOfTheDefinedPrecisionsAndAveragesToTheHeadlineAp()
    {
        var folder = TestPaths.EvaluationCase("synth");
        var metrics = InstanceEvaluator.EvaluateFiles(Path.Combine(folder, "instances_gt.json"),
            Path.Combine(folder, "detections_segm.json"), InstanceIouType.Segmentation);
        var info = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "case_info.json"))).RootElement;
        Assert.HasCount(80, metrics.PerClass);
        // Categories with ground truth have an AP; the others (only predicted, or nowhere) are NaN.
        var defined = metrics.PerClass.Where(c => !double.IsNaN(c.AveragePrecision)).ToArray();
        Assert.IsTrue(defined.All(c => c.GroundTruthCount > 0));
        Assert.IsTrue(metrics.PerClass.Where(c => double.IsNaN(c.AveragePrecision)).All(c => c.GroundTruthCount == 0));
        foreach (var id in info.GetProperty("pred_only").EnumerateArray().Select(e => e.GetInt32()))
        {
            if (metrics.PerClass.FirstOrDefault(c => c.CategoryId == id) is { } c)
                Assert.IsTrue(double.IsNaN(c.AveragePrecision), $"category {id} has no ground truth");
        }
        // Every category has the same number of defined precision entries, so the stat is the mean of the per-class APs.
        Assert.AreEqual(metrics.AveragePrecision, defined.Average(c => c.AveragePrecision), 1e-12);
    }

    [TestMethod]
    public void JsonOutputHasTheReferenceLayout()
    {
        var folder = TestPaths.EvaluationCase("sample");
        var metrics = InstanceEvaluator.EvaluateFiles(Path.Combine(folder, "instances_gt.json"),
            Path.Combine(folder, "detections_bbox.json"), InstanceIouType.BoundingBox);
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            metrics.WriteJson(w);
            w.WriteEndObject();
        }
        var root = JsonDocument.Parse(stream.ToArray()).RootElement.GetProperty("coco_bbox");
        var expected = ReferenceExpectations.Load("sample").GetProperty("coco_bbox");
        var stats = root.GetProperty("stats").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        var want = expected.GetProperty("stats").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        for (var i = 0; i < 12; i++) Assert.AreEqual(want[i], stats[i], 1e-9);
        CollectionAssert.AreEqual(expected.GetProperty("summary_text").EnumerateArray().Select(e => e.GetString()).ToArray(),
            root.GetProperty("summary_text").EnumerateArray().Select(e => e.GetString()).ToArray());
        CollectionAssert.AreEqual(expected.GetProperty("names").EnumerateArray().Select(e => e.GetString()).ToArray(),
            root.GetProperty("names").EnumerateArray().Select(e => e.GetString()).ToArray());
    }

    internal static InstanceIouType Parse(string iouType) => iouType == "bbox" ? InstanceIouType.BoundingBox : InstanceIouType.Segmentation;
}
