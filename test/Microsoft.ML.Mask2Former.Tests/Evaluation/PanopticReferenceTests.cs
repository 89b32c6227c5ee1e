using System.Text.Json;
using Microsoft.ML.Mask2Former.Evaluation;
using Microsoft.ML.Mask2Former.Formats;

namespace Microsoft.ML.Mask2Former.Tests.Evaluation;

/// <summary>PQ against the numbers panopticapi's pq_compute produced for the two reference cases.</summary>
[TestClass]
public sealed class PanopticReferenceTests
{
    private const double Tolerance = 1e-9;

    internal static PanopticSegmentationMetrics EvaluateCase(string name, int threads = 2)
    {
        var dir = TestPaths.EvaluationCase(name);
        return PanopticEvaluator.EvaluateFiles(Path.Combine(dir, "panoptic_gt.json"), Path.Combine(dir, "panoptic_gt"),
            Path.Combine(dir, "panoptic_pred.json"), Path.Combine(dir, "panoptic_pred"), new PanopticEvaluatorOptions { Threads = threads });
    }

    [TestMethod]
    [DataRow("synth")]
    [DataRow("sample")]
    public void EveryNumberMatchesPanopticapi(string caseName)
    {
        var expected = ReferenceExpectations.Load(caseName);
        var metrics = EvaluateCase(caseName);
        AssertMatches(expected, metrics);
    }

    internal static void AssertMatches(JsonElement expected, PanopticSegmentationMetrics metrics)
    {
        var panoptic = expected.GetProperty("panoptic");
        foreach (var (name, actual) in new[] { ("All", metrics.All), ("Things", metrics.Things), ("Stuff", metrics.Stuff) })
        {
            var e = panoptic.GetProperty(name);
            Assert.AreEqual(e.GetProperty("pq").GetDouble(), actual.PanopticQuality, Tolerance, $"{name} PQ");
            Assert.AreEqual(e.GetProperty("sq").GetDouble(), actual.SegmentationQuality, Tolerance, $"{name} SQ");
            Assert.AreEqual(e.GetProperty("rq").GetDouble(), actual.RecognitionQuality, Tolerance, $"{name} RQ");
            Assert.AreEqual(e.GetProperty("n").GetInt32(), actual.CategoryCount, $"{name} n");
        }

        var perClass = panoptic.GetProperty("per_class");
        var counts = expected.GetProperty("panoptic_counts");
        Assert.AreEqual(perClass.EnumerateObject().Count(), metrics.PerClass.Count, "per-class entries");
        Assert.AreEqual(counts.EnumerateObject().Count(), metrics.PerClass.Count(c => c.IsCounted), "counted categories");
        foreach (var c in metrics.PerClass)
        {
            var key = c.CategoryId.ToString(System.Globalization.CultureInfo.InvariantCulture);
            var e = perClass.GetProperty(key);
            Assert.AreEqual(e.GetProperty("pq").GetDouble(), c.PanopticQuality, Tolerance, $"class {key} PQ");
            Assert.AreEqual(e.GetProperty("sq").GetDouble(), c.SegmentationQuality, Tolerance, $"class {key} SQ");
            Assert.AreEqual(e.GetProperty("rq").GetDouble(), c.RecognitionQuality, Tolerance, $"class {key} RQ");
            if (!counts.TryGetProperty(key, out var n))
            {
                // panopticapi reports categories that never occurred as 0 / 0 / 0 without counts.
                Assert.IsFalse(c.IsCounted, $"class {key} has counts but the reference has none");
                continue;
            }
            Assert.AreEqual(n.GetProperty("tp").GetInt64(), c.Counts.TruePositives, $"class {key} tp");
            Assert.AreEqual(n.GetProperty("fp").GetInt64(), c.Counts.FalsePositives, $"class {key} fp");
            Assert.AreEqual(n.GetProperty("fn").GetInt64(), c.Counts.FalseNegatives, $"class {key} fn");
            Assert.AreEqual(n.GetProperty("iou").GetDouble(), c.Counts.IouSum, Tolerance, $"class {key} iou");
        }
    }

    [TestMethod]
    public void TablesArePrintedAsPanopticapiPrintsThem()
    {
        // panopticapi print_results, applied to the reference numbers of each case:
        // "{:10s}| {:>5s}  {:>5s}  {:>5s} {:>5s}" header, 38 dashes, "{:10s}| {:5.1f}  {:5.1f}  {:5.1f} {:5d}" rows.
        const string sample =
            "          |    PQ     SQ     RQ     N\n" +
            "--------------------------------------\n" +
            "All       |  32.8   55.3   36.1    13\n" +
            "Things    |  32.2   56.6   37.1     6\n" +
            "Stuff     |  33.2   54.2   35.3     7\n";
        const string synth =
            "          |    PQ     SQ     RQ     N\n" +
            "--------------------------------------\n" +
            "All       |  47.1   77.5   54.2   128\n" +
            "Things    |  43.9   75.4   51.4    77\n" +
            "Stuff     |  52.1   80.8   58.4    51\n";
        Assert.AreEqual(sample, EvaluateCase("sample").ToString());
        Assert.AreEqual(synth, EvaluateCase("synth").ToString());
    }

    [TestMethod]
    public void ResultsDoNotDependOnTheThreadCount()
    {
        var one = EvaluateCase("synth", threads: 1);
        foreach (var threads in new[] { 2, 3, 8 })
        {
            var other = EvaluateCase("synth", threads);
            CollectionAssert.AreEqual(one.PerClass.Select(c => c.Counts).ToArray(), other.PerClass.Select(c => c.Counts).ToArray(),
                $"threads={threads}");
            Assert.AreEqual(one.All, other.All);
            Assert.AreEqual(one.Things, other.Things);
            Assert.AreEqual(one.Stuff, other.Stuff);
        }
    }

    [TestMethod]
    public void TwoHalvesMergedEqualTheWhole()
    {
        var dir = TestPaths.EvaluationCase("synth");
        var gt = CocoPanopticDataset.Load(Path.Combine(dir, "panoptic_gt.json"));
        var pred = CocoPanopticDataset.Load(Path.Combine(dir, "panoptic_pred.json"));
        var evaluator = new PanopticEvaluator(gt.Categories);
        var whole = evaluator.Accumulate(gt, Path.Combine(dir, "panoptic_gt"), pred, Path.Combine(dir, "panoptic_pred"));

        var half = gt.Annotations.Count / 2;
        var first = new CocoPanopticDataset(gt.Images, gt.Annotations.Take(half).ToList(), gt.Categories);
        var second = new CocoPanopticDataset(gt.Images, gt.Annotations.Skip(half).ToList(), gt.Categories);
        var a = evaluator.Accumulate(first, Path.Combine(dir, "panoptic_gt"), pred, Path.Combine(dir, "panoptic_pred"));
        var b = evaluator.Accumulate(second, Path.Combine(dir, "panoptic_gt"), pred, Path.Combine(dir, "panoptic_pred"));

        // Shards travel as JSON: the round trip must be exact.
        var merged = PanopticQualityAccumulator.FromJson(a.ToJson());
        merged.Add(PanopticQualityAccumulator.FromJson(b.ToJson()));

        Assert.AreEqual(whole.ImageCount, merged.ImageCount);
        Assert.AreEqual(100, merged.ImageCount);
        CollectionAssert.AreEquivalent(whole.PerCategory.Keys.ToArray(), merged.PerCategory.Keys.ToArray());
        foreach (var (category, w) in whole.PerCategory)
        {
            var m = merged[category];
            Assert.AreEqual(w.TruePositives, m.TruePositives);
            Assert.AreEqual(w.FalsePositives, m.FalsePositives);
            Assert.AreEqual(w.FalseNegatives, m.FalseNegatives);
            Assert.AreEqual(w.IouSum, m.IouSum, 1e-12, $"category {category}");
        }
        AssertMatches(ReferenceExpectations.Load("synth"), merged.ComputeMetrics(gt.Categories));
    }

    [TestMethod]
    public void AccumulatorJsonRoundTripIsExact()
    {
        var dir = TestPaths.EvaluationCase("sample");
        var gt = CocoPanopticDataset.Load(Path.Combine(dir, "panoptic_gt.json"));
        var pred = CocoPanopticDataset.Load(Path.Combine(dir, "panoptic_pred.json"));
        var acc = new PanopticEvaluator(gt.Categories).Accumulate(gt, Path.Combine(dir, "panoptic_gt"), pred, Path.Combine(dir, "panoptic_pred"));
        var back = PanopticQualityAccumulator.FromJson(acc.ToJson());
        Assert.AreEqual(acc.ImageCount, back.ImageCount);
        foreach (var (category, counts) in acc.PerCategory) Assert.AreEqual(counts, back[category]);
    }
}
