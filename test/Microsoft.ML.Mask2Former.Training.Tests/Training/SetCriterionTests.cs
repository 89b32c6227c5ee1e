using Microsoft.ML.Mask2Former.Training.Losses;
using static Microsoft.ML.Mask2Former.Training.Tests.Training.LossHandComputation;
using static TorchSharp.torch;

namespace Microsoft.ML.Mask2Former.Training.Tests.Training;

[TestClass]
public sealed class SetCriterionTests
{
    private const int Classes = 3;
    private const int Side = 4;

    /// <summary>The centres of every pixel of an h × w grid as (x, y) in [0, 1], row-major: [h·w, 2].</summary>
    private static Tensor PixelCentres(int h, int w)
    {
        var xy = new float[h * w * 2];
        for (var y = 0; y < h; y++)
            for (var x = 0; x < w; x++)
            {
                xy[2 * (y * w + x)] = (x + 0.5f) / w;
                xy[2 * (y * w + x) + 1] = (y + 0.5f) / h;
            }
        return tensor(xy, [h * w, 2]);
    }

    private static float[] RandomFloats(Random random, int count, double scale) =>
        Enumerable.Range(0, count).Select(_ => (float)((random.NextDouble() * 2 - 1) * scale)).ToArray();

    private static float[] RandomMask(Random random, int count)
    {
        var m = Enumerable.Range(0, count).Select(_ => random.NextDouble() < 0.4 ? 1f : 0f).ToArray();
        m[random.Next(count)] = 1f;
        return m;
    }

    /// <summary>A batch whose every number is also kept as doubles for the hand computation.</summary>
    private sealed class Batch : IDisposable
    {
        public required int Images, Queries;
        public required float[] ClassLogits;   // [B, Q, K + 1]
        public required float[] MaskLogits;    // [B, Q, Side, Side]
        public required int[][] Labels;
        public required float[][][] Masks;     // [b][t][Side·Side]
        public Tensor ClassTensor = null!, MaskTensor = null!;
        public List<SegmentationTarget> Targets = [];

        public double[] Class(int b, int q) => ClassLogits.Skip((b * Queries + q) * (Classes + 1)).Take(Classes + 1).Select(v => (double)v).ToArray();
        public double[] Mask(int b, int q) => MaskLogits.Skip((b * Queries + q) * Side * Side).Take(Side * Side).Select(v => (double)v).ToArray();
        public double[] Target(int b, int t) => Masks[b][t].Select(v => (double)v).ToArray();

        public static Batch Create(Random random, int queries, params int[][] labels)
        {
            var images = labels.Length;
            var batch = new Batch
            {
                Images = images,
                Queries = queries,
                ClassLogits = RandomFloats(random, images * queries * (Classes + 1), 2),
                MaskLogits = RandomFloats(random, images * queries * Side * Side, 3),
                Labels = labels,
                Masks = labels.Select(l => l.Select(_ => RandomMask(random, Side * Side)).ToArray()).ToArray(),
            };
            batch.ClassTensor = tensor(batch.ClassLogits, [images, queries, Classes + 1]);
            batch.MaskTensor = tensor(batch.MaskLogits, [images, queries, Side, Side]);
            for (var b = 0; b < images; b++)
            {
                var masks = batch.Masks[b].SelectMany(m => m).ToArray();
                batch.Targets.Add(new SegmentationTarget(tensor(labels[b].Select(l => (long)l).ToArray()),
                    tensor(masks, [labels[b].Length, Side, Side])));
            }
            return batch;
        }

        public double[,] HandCost(int b)
        {
            var cost = new double[Queries, Labels[b].Length];
            for (var q = 0; q < Queries; q++)
                for (var t = 0; t < Labels[b].Length; t++)
                    cost[q, t] = LossHandComputation.Cost(Class(b, q), Mask(b, q), Labels[b][t], Target(b, t));
            return cost;
        }

        /// <summary>loss_ce, loss_mask, loss_dice by hand, with the brute-force matching.</summary>
        public (double Ce, double Mask, double Dice) HandLosses()
        {
            double weighted = 0, weights = 0, mask = 0, dice = 0;
            var numMasks = Math.Max(1, Labels.Sum(l => l.Length));
            for (var b = 0; b < Images; b++)
            {
                var targetOf = Labels[b].Length == 0 ? Enumerable.Repeat(-1, Queries).ToArray() : BruteForce(HandCost(b)).TargetOfQuery;
                for (var q = 0; q < Queries; q++)
                {
                    var t = targetOf[q];
                    var y = t < 0 ? Classes : Labels[b][t];
                    var w = y == Classes ? 0.1 : 1.0;
                    weighted += w * -Math.Log(Softmax(Class(b, q))[y]);
                    weights += w;
                    if (t >= 0)
                    {
                        mask += MeanBce(Mask(b, q), Target(b, t));
                        dice += Dice(Mask(b, q), Target(b, t));
                    }
                }
            }
            return (weighted / weights, mask / numMasks, dice / numMasks);
        }

        public void Dispose()
        {
            ClassTensor.Dispose();
            MaskTensor.Dispose();
            foreach (var t in Targets) { t.Labels.Dispose(); t.Masks.Dispose(); }
        }
    }

    /// <summary>A criterion whose points are every pixel centre (so sampling is exact and the hand computation applies).</summary>
    private static Mask2FormerCriterion PixelCriterion(bool deepSupervision = true)
    {
        var criterion = new Mask2FormerCriterion(Classes, new Mask2FormerCriterionOptions { DeepSupervision = deepSupervision });
        criterion.Matcher.PointsOverride = _ => PixelCentres(Side, Side);
        criterion.MaskPointsOverride = masks => PixelCentres(Side, Side).unsqueeze(0).expand(masks.shape[0], Side * Side, 2);
        return criterion;
    }

    [TestMethod]
    public void MatcherCostMatrixEqualsHandComputation()
    {
        using var batch = Batch.Create(new Random(1), 2, [2, 0]);
        var matcher = new HungarianMatcher { PointsOverride = _ => PixelCentres(Side, Side) };
        using var cls = batch.ClassTensor[0];
        using var masks = batch.MaskTensor[0];
        var cost = matcher.CostMatrix(cls, masks, batch.Targets[0], 0);
        var hand = batch.HandCost(0);
        for (var q = 0; q < 2; q++)
            for (var t = 0; t < 2; t++)
                Assert.AreEqual(hand[q, t], cost[q * 2 + t], 1e-5, $"cost[{q}, {t}]");
    }

    [TestMethod]
    public void PointSamplingReadsHigherResolutionTargetsAtTheSamePlaces()
    {
        // An 8x8 target made of 2x2 blocks sampled at the 4x4 pixel centres gives the 4x4 mask back.
        var random = new Random(5);
        var small = RandomMask(random, 16);
        var big = new float[64];
        for (var y = 0; y < 8; y++)
            for (var x = 0; x < 8; x++) big[y * 8 + x] = small[y / 2 * 4 + x / 2];
        using var scope = NewDisposeScope();
        var sampled = PointSampling.SampleShared(tensor(big, [1, 8, 8]), PixelCentres(4, 4));
        CollectionAssert.AreEqual(small, sampled.data<float>().ToArray());
    }

    [TestMethod]
    public void MatcherEqualsBruteForceOfItsOwnCostMatrix()
    {
        var random = new Random(11);
        var checkedCount = 0;
        foreach (var (queries, targets) in new[] { (5, 3), (4, 4), (3, 5), (6, 1), (2, 6) })
        {
            for (var trial = 0; trial < 8; trial++)
            {
                var labels = Enumerable.Range(0, targets).Select(_ => random.Next(Classes)).ToArray();
                using var batch = Batch.Create(random, queries, labels);
                using var points = rand([64, 2]);
                var matcher = new HungarianMatcher(new HungarianMatcherOptions { NumPoints = 64 }) { PointsOverride = _ => points.clone() };
                using var cls = batch.ClassTensor[0];
                using var masks = batch.MaskTensor[0];
                var flat = matcher.CostMatrix(cls, masks, batch.Targets[0], 0);
                var cost = new double[queries, targets];
                for (var q = 0; q < queries; q++)
                    for (var t = 0; t < targets; t++) cost[q, t] = flat[q * targets + t];
                var match = matcher.Match(batch.ClassTensor, batch.MaskTensor, batch.Targets)[0];
                Assert.AreEqual(Math.Min(queries, targets), match.Count);
                Assert.AreEqual(match.Targets.Length, match.Targets.Distinct().Count());
                var total = match.Queries.Select((q, k) => cost[q, match.Targets[k]]).Sum();
                Assert.AreEqual(BruteForce(cost).Cost, total, 1e-9, $"{queries}x{targets} trial {trial}");
                checkedCount++;
            }
        }
        Assert.AreEqual(40, checkedCount);
    }

    [TestMethod]
    public void EveryLossTermEqualsHandComputation()
    {
        var random = new Random(2);
        using var batch = Batch.Create(random, 2, [2], [0, 1]);
        using var aux = Batch.Create(random, 2, [2], [0, 1]);
        // The auxiliary layer must be judged against the same targets.
        aux.Masks = batch.Masks;
        var criterion = PixelCriterion();
        using var loss = criterion.Compute(batch.ClassTensor, batch.MaskTensor, [(aux.ClassTensor, aux.MaskTensor)], batch.Targets);
        var values = loss.ToValues();
        CollectionAssert.AreEqual(new[] { "loss_ce", "loss_mask", "loss_dice", "loss_ce_0", "loss_mask_0", "loss_dice_0" }, loss.Terms.Keys.ToArray());

        var (ce, mask, dice) = batch.HandLosses();
        var (ce0, mask0, dice0) = aux.HandLosses();
        Assert.AreEqual(ce, values["loss_ce"], 1e-5);
        Assert.AreEqual(mask, values["loss_mask"], 1e-5);
        Assert.AreEqual(dice, values["loss_dice"], 1e-5);
        Assert.AreEqual(ce0, values["loss_ce_0"], 1e-5);
        Assert.AreEqual(mask0, values["loss_mask_0"], 1e-5);
        Assert.AreEqual(dice0, values["loss_dice_0"], 1e-5);
        Assert.AreEqual(2 * (ce + ce0) + 5 * (mask + mask0) + 5 * (dice + dice0), values["loss"], 1e-4);

        // The matching reported is the brute-force one of the hand cost matrices.
        for (var b = 0; b < 2; b++)
        {
            var targetOf = BruteForce(batch.HandCost(b)).TargetOfQuery;
            var m = loss.Matches[0][b];
            for (var k = 0; k < m.Count; k++) Assert.AreEqual(targetOf[m.Queries[k]], m.Targets[k]);
        }

        using var single = PixelCriterion(deepSupervision: false).Compute(batch.ClassTensor, batch.MaskTensor, [(aux.ClassTensor, aux.MaskTensor)], batch.Targets);
        Assert.HasCount(3, single.Terms);
        Assert.AreEqual(2 * ce + 5 * mask + 5 * dice, single.ToValues()["loss"], 1e-4);
    }

    [TestMethod]
    public void ImagesWithoutTargetsLearnNoObject()
    {
        using var batch = Batch.Create(new Random(4), 3, [], [1]);
        using var loss = PixelCriterion().Compute(batch.ClassTensor, batch.MaskTensor, [], batch.Targets);
        var values = loss.ToValues();
        var (ce, mask, dice) = batch.HandLosses();
        Assert.AreEqual(ce, values["loss_ce"], 1e-5);
        Assert.AreEqual(mask, values["loss_mask"], 1e-5);
        Assert.AreEqual(dice, values["loss_dice"], 1e-5);

        using var empty = Batch.Create(new Random(4), 3, [], []);
        using var none = PixelCriterion().Compute(empty.ClassTensor, empty.MaskTensor, [], empty.Targets);
        Assert.AreEqual(0.0, none.ToValues()["loss_mask"]);
        Assert.AreEqual(empty.HandLosses().Ce, none.ToValues()["loss_ce"], 1e-5);
    }

    [TestMethod]
    public void UncertainPointsTakeTheLogitsNearestZeroThenUniformOnes()
    {
        // 16 candidates at the pixel centres of a 4x4 logit map, 4 points: the 3 most uncertain
        // candidates (smallest |logit|) and 1 uniform point.
        float[] logits = [5, -4, 0.1f, 3, -0.2f, 6, 7, -8, 2, 0.05f, -9, 4, 10, -11, 12, 13];
        using var scope = NewDisposeScope();
        var calls = new List<long[]>();
        PointSampling.Uniform uniform = (shape, device) =>
        {
            calls.Add(shape);
            return calls.Count == 1 ? PixelCentres(4, 4).unsqueeze(0) : full(shape, 0.3f);
        };
        var points = PointSampling.UncertainPoints(tensor(logits, [1, 1, 4, 4]), 4, 4.0, 0.75, uniform);
        CollectionAssert.AreEqual(new long[] { 1, 16, 2 }, calls[0]);
        CollectionAssert.AreEqual(new long[] { 1, 1, 2 }, calls[1]);
        var xy = points.data<float>().ToArray();
        // Pixels 9 (0.05), 2 (0.1), 4 (−0.2), in order of uncertainty.
        float[] expected = [1.5f / 4, 2.5f / 4, 2.5f / 4, 0.5f / 4, 0.5f / 4, 1.5f / 4, 0.3f, 0.3f];
        CollectionAssert.AreEqual(expected, xy);
    }

    [TestMethod]
    public void DefaultImportanceSamplingDrawsTheConfiguredNumberOfPoints()
    {
        using var scope = NewDisposeScope();
        var logits = randn(3, 1, 8, 8);
        var points = PointSampling.UncertainPoints(logits, 12544, 3.0, 0.75, PointSampling.TorchRand);
        CollectionAssert.AreEqual(new long[] { 3, 12544, 2 }, points.shape);
        Assert.IsTrue(points.min().item<float>() >= 0 && points.max().item<float>() <= 1);
    }

    [TestMethod]
    [DataRow(false, 0.1, DisplayName = "pixel-centre points (no sampling floor)")]
    [DataRow(true, 0.75, DisplayName = "importance-sampled random points")]
    public void GradientStepsReduceTheLossOnAToyProblem(bool randomPoints, double ratio)
    {
        manual_seed(7);
        var random = new Random(9);
        using var batch = Batch.Create(random, 4, [0, 2], [1]);
        using var classes = new TorchSharp.Modules.Parameter(batch.ClassTensor.clone());
        using var masks = new TorchSharp.Modules.Parameter(batch.MaskTensor.clone());
        using var auxClasses = new TorchSharp.Modules.Parameter(batch.ClassTensor.clone());
        using var auxMasks = new TorchSharp.Modules.Parameter(batch.MaskTensor.clone());
        // Random points read 4x4 masks partly in the zero padding beyond their border, where the
        // sampled targets are fractional: that loss has a floor well above zero.
        var criterion = randomPoints
            ? new Mask2FormerCriterion(Classes, new Mask2FormerCriterionOptions { NumPoints = 256, Matcher = new HungarianMatcherOptions { NumPoints = 256 } })
            : PixelCriterion();
        using var optimizer = optim.Adam([classes, masks, auxClasses, auxMasks], 0.2);
        IReadOnlyDictionary<string, double>? first = null, last = null;
        for (var step = 0; step < 100; step++)
        {
            optimizer.zero_grad();
            using var loss = criterion.Compute(classes, masks, [(auxClasses, auxMasks)], batch.Targets);
            loss.Total.backward();
            if (step == 0)
            {
                foreach (var p in new[] { classes, masks, auxClasses, auxMasks })
                {
                    Assert.IsNotNull(p.grad);
                    Assert.IsGreaterThan(0f, p.grad!.abs().sum().item<float>());
                }
                first = loss.ToValues();
            }
            last = loss.ToValues();
            optimizer.step();
        }
        var text = string.Join(", ", first!.Keys.Select(k => $"{k} {first[k]:F3} -> {last![k]:F3}"));
        Assert.IsLessThan(first["loss"] * ratio, last!["loss"], text);
        foreach (var key in first.Keys) Assert.IsLessThan(first[key], last[key], text);
    }

    [TestMethod]
    public void ComputeLeavesNoTensorsBehind()
    {
        using var batch = Batch.Create(new Random(3), 3, [0, 2], [1]);
        var criterion = new Mask2FormerCriterion(Classes, new Mask2FormerCriterionOptions { NumPoints = 64, Matcher = new HungarianMatcherOptions { NumPoints = 64 } });
        void Once()
        {
            using var loss = criterion.Compute(batch.ClassTensor, batch.MaskTensor, [(batch.ClassTensor, batch.MaskTensor)], batch.Targets);
            _ = loss.ToValues();
        }
        Once();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var live = Tensor.TotalCount;
        for (var i = 0; i < 5; i++) Once();
        Assert.AreEqual(live, Tensor.TotalCount, "tensors outlived the loss");
    }

    [TestMethod]
    public void BadInputsAreRejected()
    {
        using var batch = Batch.Create(new Random(3), 2, [0]);
        var criterion = new Mask2FormerCriterion(Classes);
        var badLabels = new SegmentationTarget(tensor(new long[] { Classes }), zeros(1, Side, Side));
        var e = Assert.ThrowsExactly<ArgumentException>(() => criterion.Compute(batch.ClassTensor, batch.MaskTensor, [], [badLabels]));
        StringAssert.Contains(e.Message, "outside 0..2");
        Assert.ThrowsExactly<ArgumentException>(() => criterion.Compute(batch.ClassTensor, batch.MaskTensor, [], []));
        Assert.ThrowsExactly<ArgumentException>(() => new Mask2FormerCriterion(Classes + 1).Compute(batch.ClassTensor, batch.MaskTensor, [], batch.Targets));
        Assert.ThrowsExactly<ArgumentException>(() => new SegmentationTarget(tensor(new long[] { 0, 1 }), zeros(1, Side, Side)));
        Assert.ThrowsExactly<ArgumentException>(() => new Mask2FormerCriterion(Classes, new Mask2FormerCriterionOptions { ImportanceSampleRatio = 1.5 }));
        using var nan = full(1, 2, Side, Side, float.NaN);
        Assert.ThrowsExactly<ArgumentException>(() => criterion.Matcher.Match(batch.ClassTensor, nan, batch.Targets));
    }
}
