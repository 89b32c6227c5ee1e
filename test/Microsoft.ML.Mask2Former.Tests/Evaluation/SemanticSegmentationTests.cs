using System.Text.Json;
using Microsoft.ML.Mask2Former.Evaluation;
using Microsoft.ML.Mask2Former.Formats;
using Microsoft.ML.Mask2Former.ReferenceArithmetic;

namespace Microsoft.ML.Mask2Former.Tests.Evaluation;

/// <summary>
/// Semantic segmentation metrics as detectron2's SemSegEvaluator (current main) computes them,
/// on cases small enough to derive every number by hand.
/// </summary>
[TestClass]
public sealed class SemanticSegmentationTests
{
    private const double Exact = 1e-15;

    // ------------------------------------------------------------------ hand-computed cases

    /// <summary>
    /// K = 3, ignore 255. Pixels (pred, gt):
    /// (0,0) (0,0) (1,0) (2,0) (1,1) (1,1) (0,1) (2,2) (0,255) (1,255).
    /// </summary>
    private static readonly int[] Pred1 = [0, 0, 1, 2, 1, 1, 0, 2, 0, 1];
    private static readonly int[] Gt1 = [0, 0, 0, 0, 1, 1, 1, 2, 255, 255];

    [TestMethod]
    public void ConfusionMatrixIsIndexedPredictedThenGroundTruthWithIgnoredPixelsInTheLastColumn()
    {
        var acc = new SemanticSegmentationAccumulator(3);
        acc.Add(Pred1, Gt1);
        // Row = prediction, column = ground truth (column 3 = ignore label):
        //   pred 0: gt0 ×2 (pixels 0, 1), gt1 ×1 (pixel 6), ignore ×1 (pixel 8)
        //   pred 1: gt0 ×1 (pixel 2), gt1 ×2 (pixels 4, 5), ignore ×1 (pixel 9)
        //   pred 2: gt0 ×1 (pixel 3), gt2 ×1 (pixel 7)
        long[,] expected = { { 2, 1, 0, 1 }, { 1, 2, 0, 1 }, { 1, 0, 1, 0 }, { 0, 0, 0, 0 } };
        for (var p = 0; p < 4; p++)
        {
            for (var g = 0; g < 4; g++) Assert.AreEqual(expected[p, g], acc[p, g], $"cell [{p}, {g}]");
        }
        Assert.AreEqual(1, acc.ImageCount);
    }

    [TestMethod]
    public void HandComputedMetrics()
    {
        var acc = new SemanticSegmentationAccumulator(3);
        acc.Add(Pred1, Gt1);
        var m = acc.ComputeMetrics(["road", "car", "sky"]);
        // tp      = diag over classes        = [2, 2, 1]
        // pos_gt  = column sums (rows 0..2)  = [2+1+1, 1+2+0, 0+0+1] = [4, 3, 1]   (ignored pixels excluded)
        // pos_pred= row sums (columns 0..2)  = [2+1+0, 1+2+0, 1+0+1] = [3, 3, 2]   (pixels on ignored gt excluded)
        // acc     = tp / pos_gt              = [2/4, 2/3, 1/1]
        // union   = pos_gt + pos_pred - tp   = [4+3-2, 3+3-2, 1+2-1] = [5, 4, 2]
        // iou     = tp / union               = [2/5, 2/4, 1/2] = [0.4, 0.5, 0.5]
        // weights = pos_gt / 8               = [0.5, 0.375, 0.125]
        // mIoU  = (0.4 + 0.5 + 0.5) / 3 = 1.4 / 3
        // fwIoU = 0.4·0.5 + 0.5·0.375 + 0.5·0.125 = 0.2 + 0.1875 + 0.0625 = 0.45
        // mACC  = (1/2 + 2/3 + 1) / 3 = (13/6) / 3 = 13/18
        // pACC  = (2 + 2 + 1) / 8 = 5/8
        Assert.AreEqual(1.4 / 3, m.MeanIoU, Exact);
        Assert.AreEqual(0.45, m.FrequencyWeightedIoU, Exact);
        Assert.AreEqual(13.0 / 18, m.MeanAccuracy, Exact);
        Assert.AreEqual(0.625, m.PixelAccuracy);
        CollectionAssert.AreEqual(new[] { 0.4, 0.5, 0.5 }, m.PerClass.Select(c => c.IoU).ToArray());
        CollectionAssert.AreEqual(new[] { 0.5, 2.0 / 3, 1.0 }, m.PerClass.Select(c => c.Accuracy).ToArray());
        CollectionAssert.AreEqual(new long[] { 2, 2, 1 }, m.PerClass.Select(c => c.TruePositives).ToArray());
        CollectionAssert.AreEqual(new long[] { 4, 3, 1 }, m.PerClass.Select(c => c.GroundTruthPixels).ToArray());
        CollectionAssert.AreEqual(new long[] { 3, 3, 2 }, m.PerClass.Select(c => c.PredictedPixels).ToArray());
        CollectionAssert.AreEqual(new[] { "road", "car", "sky" }, m.PerClass.Select(c => c.Name).ToArray());

        // detectron2's result dictionary: percentages, in its key order.
        CollectionAssert.AreEqual(
            new[] { "mIoU", "fwIoU", "IoU-road", "IoU-car", "IoU-sky", "mACC", "pACC", "ACC-road", "ACC-car", "ACC-sky" },
            m.Results.Select(r => r.Key).ToArray());
        Assert.AreEqual(100 * ((0.4 + 0.5 + 0.5) / 3), m.Results[0].Value);
        Assert.AreEqual(62.5, m.Results[6].Value);
        Assert.AreEqual(100 * (2.0 / 3), m.Results[8].Value);
    }

    [TestMethod]
    public void AClassPredictedButAbsentFromTheGroundTruthHasNoIoUAndDoesNotLowerTheMean()
    {
        // K = 3. Pixels (pred, gt): (0,0) (2,0) (1,1) (1,1). Class 2 is predicted once, never in the ground truth.
        var acc = new SemanticSegmentationAccumulator(3);
        acc.Add([0, 2, 1, 1], [0, 0, 1, 1]);
        var m = acc.ComputeMetrics();
        // tp = [1, 2, 0]; pos_gt = [2, 2, 0]; pos_pred = [1, 2, 1]
        // class 2: pos_gt = 0, so acc_valid is false and (current detectron2) iou_valid = acc_valid & union > 0 is false too.
        // iou = [1/(2+1-1), 2/(2+2-2), NaN] = [0.5, 1, NaN]; acc = [0.5, 1, NaN]
        // mIoU = (0.5 + 1) / 2 = 0.75 (older detectron2, iou_valid = union > 0, gave (0.5 + 1 + 0) / 3 = 0.5)
        // fwIoU = 0.5·(2/4) + 1·(2/4) = 0.75; mACC = 0.75; pACC = 3/4
        Assert.AreEqual(0.75, m.MeanIoU);
        Assert.AreEqual(0.75, m.FrequencyWeightedIoU);
        Assert.AreEqual(0.75, m.MeanAccuracy);
        Assert.AreEqual(0.75, m.PixelAccuracy);
        Assert.IsTrue(double.IsNaN(m.PerClass[2].IoU));
        Assert.IsTrue(double.IsNaN(m.PerClass[2].Accuracy));
        Assert.AreEqual(1, m.PerClass[2].PredictedPixels);
        Assert.IsTrue(double.IsNaN(m.Results.Single(r => r.Key == "IoU-2").Value));
    }

    [TestMethod]
    public void AClassInTheGroundTruthButNeverPredictedHasZeroIoU()
    {
        // K = 2. Pixels (pred, gt): (0,0) (0,1) (0,1). tp = [1, 0]; pos_gt = [1, 2]; pos_pred = [3, 0]
        // iou = [1/(1+3-1), 0/(2+0-0)] = [1/3, 0]; acc = [1, 0]
        // mIoU = (1/3 + 0) / 2 = 1/6; fwIoU = (1/3)·(1/3) + 0·(2/3) = 1/9; mACC = 1/2; pACC = 1/3
        var acc = new SemanticSegmentationAccumulator(2);
        acc.Add([0, 0, 0], [0, 1, 1]);
        var m = acc.ComputeMetrics();
        Assert.AreEqual(1.0 / 6, m.MeanIoU, Exact);
        Assert.AreEqual(1.0 / 9, m.FrequencyWeightedIoU, Exact);
        Assert.AreEqual(0.5, m.MeanAccuracy);
        Assert.AreEqual(1.0 / 3, m.PixelAccuracy, Exact);
        Assert.AreEqual(0.0, m.PerClass[1].IoU);
    }

    [TestMethod]
    public void IgnoredPixelsChangeNothingWhateverIsPredictedThere()
    {
        var a = new SemanticSegmentationAccumulator(3);
        a.Add(Pred1, Gt1);
        var b = new SemanticSegmentationAccumulator(3);
        b.Add([0, 0, 1, 2, 1, 1, 0, 2, 2, 2], Gt1); // other predictions on the two ignored pixels
        var c = new SemanticSegmentationAccumulator(3);
        c.Add(Pred1[..8], Gt1[..8]); // the ignored pixels left out
        var ma = a.ComputeMetrics();
        foreach (var m in new[] { b.ComputeMetrics(), c.ComputeMetrics() })
        {
            Assert.AreEqual(ma.MeanIoU, m.MeanIoU);
            Assert.AreEqual(ma.FrequencyWeightedIoU, m.FrequencyWeightedIoU);
            Assert.AreEqual(ma.MeanAccuracy, m.MeanAccuracy);
            Assert.AreEqual(ma.PixelAccuracy, m.PixelAccuracy);
        }
    }

    [TestMethod]
    public void AnotherIgnoreLabelIsHonouredAndTakesPrecedenceOverAClassOfTheSameValue()
    {
        // K = 3, ignore label 1: ground-truth 1 is ignored (as detectron2 maps gt == ignore to K first).
        // Pixels (pred, gt): (0,0) (1,1→ignored) (2,2) (0,2). tp = [1, 0, 1]; pos_gt = [1, 0, 2];
        // pos_pred = [2 (pixels 0 and 3), 0 (pixel 1 sits on an ignored pixel), 1]
        // iou = [1/(1+2-1), NaN, 1/(2+1-1)] = [0.5, NaN, 0.5]; acc = [1, NaN, 0.5]; mIoU = 0.5; mACC = 0.75; pACC = 2/3
        var acc = new SemanticSegmentationAccumulator(3, ignoreLabel: 1);
        acc.Add([0, 1, 2, 0], [0, 1, 2, 2]);
        Assert.AreEqual(1, acc[1, 3]);
        var m = acc.ComputeMetrics();
        Assert.AreEqual(0.5, m.MeanIoU);
        Assert.AreEqual(0.75, m.MeanAccuracy);
        Assert.AreEqual(2.0 / 3, m.PixelAccuracy, Exact);
        Assert.IsTrue(double.IsNaN(m.PerClass[1].IoU));

        // A negative ignore label works for in-memory maps.
        var neg = new SemanticSegmentationAccumulator(2, ignoreLabel: -1);
        neg.Add([0, 1], [0, -1]);
        Assert.AreEqual(1, neg[1, 2]);
    }

    [TestMethod]
    public void NoGroundTruthPixelGivesNaNAveragesAndZeroFrequencyWeightedIoU()
    {
        // numpy: np.sum of an empty selection is 0.0, and 0.0 / 0 is NaN.
        var acc = new SemanticSegmentationAccumulator(2);
        acc.Add([0, 1], [255, 255]);
        var m = acc.ComputeMetrics();
        Assert.IsTrue(double.IsNaN(m.MeanIoU));
        Assert.IsTrue(double.IsNaN(m.MeanAccuracy));
        Assert.IsTrue(double.IsNaN(m.PixelAccuracy));
        Assert.AreEqual(0.0, m.FrequencyWeightedIoU);
        var json = WriteJson(m);
        Assert.AreEqual(JsonValueKind.Null, json.GetProperty("sem_seg").GetProperty("mIoU").ValueKind);
        Assert.AreEqual(0.0, json.GetProperty("sem_seg").GetProperty("fwIoU").GetDouble());
        StringAssert.Contains(m.ToString(), "nan,0.0000,nan,nan");
    }

    [TestMethod]
    public void NumpySummationOrder()
    {
        // Fewer than 8 values: left to right from 0.0.
        Assert.AreEqual(((1e16 + 1) + 1) - 1e16, NumpySum.Sum([1e16, 1, 1, -1e16]));
        // 8..128 values: eight interleaved partial sums r0..r7 (r_j = a_j + a_{j+8} + …), combined
        // as ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7)), then the n % 8 leftovers one by one.
        double[] a = [1e16, 1, 1, 1, 1, 1, 1, 1, -1e16, 1, 1];
        // n = 11: the loop over whole blocks of 8 after the first stops at 8, so r_j = a_j and 8, 9, 10 are leftovers.
        var expected = (((1e16 + 1) + (1 + 1)) + ((1 + 1) + (1 + 1)) + -1e16) + 1 + 1;
        Assert.AreEqual(expected, NumpySum.Sum(a));
        // Above 128 values: split at n/2 rounded down to a multiple of 8, summed recursively.
        var big = Enumerable.Range(0, 300).Select(i => 1.0 / (i + 1)).ToArray();
        Assert.AreEqual(NumpySum.Sum(big.AsSpan(0, 144)) + NumpySum.Sum(big.AsSpan(144)), NumpySum.Sum(big));
        Assert.AreEqual(0.0, NumpySum.Sum([]));
    }

    [TestMethod]
    public void RunsOfEqualPixelsAreCountedLikeSinglePixels()
    {
        // Maps made of runs (1 to 40 pixels) of one (pred, gt) pair, counted against a plain per-pixel tally.
        var rng = new Random(77);
        const int k = 5;
        for (var trial = 0; trial < 20; trial++)
        {
            var n = rng.Next(1, 3000);
            var pred = new int[n];
            var gt = new int[n];
            for (var i = 0; i < n;)
            {
                var length = rng.Next(1, 41);
                int p = rng.Next(k), g = rng.NextDouble() < 0.2 ? 255 : rng.Next(k);
                for (var j = 0; j < length && i < n; j++, i++) (pred[i], gt[i]) = (p, g);
            }
            var expected = new long[k + 1, k + 1];
            for (var i = 0; i < n; i++) expected[pred[i], gt[i] == 255 ? k : gt[i]]++;
            var acc = new SemanticSegmentationAccumulator(k);
            acc.Add(pred, gt);
            for (var p = 0; p <= k; p++)
            {
                for (var g = 0; g <= k; g++) Assert.AreEqual(expected[p, g], acc[p, g], $"trial {trial} cell [{p}, {g}]");
            }

            // A bad label in the middle of a run is found at its exact position.
            var bad = rng.Next(n);
            pred[bad] = k;
            var e = Assert.ThrowsExactly<DataFormatException>(() => acc.Add(pred, gt));
            StringAssert.Contains(e.Message, $"predicted label {k} at pixel {bad} ");
        }
    }

    // ------------------------------------------------------------------ merging, sharding, threads

    [TestMethod]
    public void MergedHalvesEqualTheWholeAndJsonRoundTripsExactly()
    {
        var rng = new Random(5);
        var images = Enumerable.Range(0, 10).Select(_ => RandomPair(rng, 7, 17, 23)).ToList();
        var whole = new SemanticSegmentationAccumulator(7);
        var first = new SemanticSegmentationAccumulator(7);
        var second = new SemanticSegmentationAccumulator(7);
        for (var i = 0; i < images.Count; i++)
        {
            whole.Add(images[i].Pred, images[i].Gt);
            (i < 4 ? first : second).Add(images[i].Pred, images[i].Gt);
        }
        var restored = SemanticSegmentationAccumulator.FromJson(second.ToJson(), "shard 2");
        first.Merge(restored);
        Assert.AreEqual(whole.ToJson(), first.ToJson());
        Assert.AreEqual(10, first.ImageCount);
        AssertSame(whole.ComputeMetrics(), first.ComputeMetrics());

        Assert.ThrowsExactly<ArgumentException>(() => whole.Merge(new SemanticSegmentationAccumulator(6)));
        Assert.ThrowsExactly<ArgumentException>(() => whole.Merge(new SemanticSegmentationAccumulator(7, ignoreLabel: 0)));
    }

    [TestMethod]
    public void BadAccumulatorJsonIsRefused()
    {
        var good = new SemanticSegmentationAccumulator(2);
        good.Add([0, 1], [1, 1]);
        Assert.AreEqual(good.ToJson(), SemanticSegmentationAccumulator.FromJson(good.ToJson()).ToJson());
        foreach (var (json, expected) in new[]
        {
            ("{", "malformed"),
            ("""{"num_classes": 2, "ignore_label": 255, "images": 1}""", "confusion"),
            ("""{"num_classes": 0, "ignore_label": 255, "images": 1, "confusion": []}""", "num_classes"),
            ("""{"num_classes": 1, "ignore_label": 255, "images": 1, "confusion": [[1, 0]]}""", "rows"),
            ("""{"num_classes": 1, "ignore_label": 255, "images": 1, "confusion": [[1, 0], [0]]}""", "row 1"),
            ("""{"num_classes": 1, "ignore_label": 255, "images": 1, "confusion": [[1, -2], [0, 0]]}""", "negative"),
            ("""{"num_classes": 1, "ignore_label": 255, "images": 1, "confusion": [[1, 0], [3, 0]]}""", "predicted as class 1"),
            ("""{"num_classes": 1, "ignore_label": 255, "images": 1, "confusion": [[1.5, 0], [0, 0]]}""", "integer"),
        })
        {
            var e = Assert.ThrowsExactly<DataFormatException>(() => SemanticSegmentationAccumulator.FromJson(json, "shard.json"));
            StringAssert.Contains(e.Message, expected);
            StringAssert.Contains(e.Message, "shard.json");
        }
    }

    [TestMethod]
    public void FolderResultsDoNotDependOnTheThreadCountAndMatchInMemoryAccumulation()
    {
        var (gtFolder, predFolder, images) = WriteFolders(TestPaths.NewTempFolder(), count: 13, k: 21, seed: 9);
        var inMemory = new SemanticSegmentationAccumulator(21);
        foreach (var (_, pred, gt) in images) inMemory.Add(pred, gt);
        var expected = inMemory.ComputeMetrics();
        foreach (var threads in new[] { 1, 2, 3, 8 })
        {
            var acc = SemanticSegmentationEvaluator.AccumulateFolders(gtFolder, predFolder, 21, threads: threads);
            Assert.AreEqual(inMemory.ToJson(), acc.ToJson(), $"threads={threads}");
            AssertSame(expected, SemanticSegmentationEvaluator.EvaluateFolders(gtFolder, predFolder, 21, threads: threads));
        }
    }

    [TestMethod]
    public void SixteenBitAndPaletteLabelMapsAreRead()
    {
        var dir = TestPaths.NewTempFolder();
        // 300 classes need 16-bit grayscale; the ignore label is then 65535 rather than 255.
        int[] gt = [0, 299, 65535, 255];
        int[] pred = [0, 299, 5, 254];
        Directory.CreateDirectory(Path.Combine(dir, "gt"));
        Directory.CreateDirectory(Path.Combine(dir, "pred"));
        Png.WriteLabels(Path.Combine(dir, "gt", "a.png"), gt, 2, 2);
        using (var f = File.Create(Path.Combine(dir, "pred", "a.png")))
        {
            // The prediction as a 16-bit grayscale written through the general writer.
            var packed = pred.SelectMany(v => new[] { (byte)(v >> 8), (byte)v }).ToArray();
            Png.Write(f, 2, 2, PngColorType.Grayscale, 16, packed);
        }
        var acc = SemanticSegmentationEvaluator.AccumulateFolders(Path.Combine(dir, "gt"), Path.Combine(dir, "pred"), 300, ignoreLabel: 65535);
        Assert.AreEqual(1, acc[0, 0]);
        Assert.AreEqual(1, acc[299, 299]);
        Assert.AreEqual(1, acc[5, 300]);
        Assert.AreEqual(1, acc[254, 255]);

        // Palette indices are labels too.
        var pal = Path.Combine(dir, "pal.png");
        using (var f = File.Create(pal)) Png.Write(f, 3, 1, PngColorType.Palette, 4, [0x12, 0x30], new byte[3 * 16]);
        var one = new SemanticSegmentationAccumulator(4);
        one.Add(pal, pal);
        Assert.AreEqual(1, one[1, 1]);
        Assert.AreEqual(1, one[2, 2]);
        Assert.AreEqual(1, one[3, 3]);
    }

    // ------------------------------------------------------------------ bad input

    [TestMethod]
    public void OutOfRangeLabelsAreRefusedWithTheFileAndPixelAndLeaveTheAccumulatorUnchanged()
    {
        var dir = TestPaths.NewTempFolder();
        var gt = Path.Combine(dir, "gt.png");
        var pred = Path.Combine(dir, "pred.png");
        Png.WriteLabels(gt, [0, 1, 2, 255, 1, 1], 3, 2);
        Png.WriteLabels(pred, [0, 1, 2, 2, 3, 1], 3, 2);
        var acc = new SemanticSegmentationAccumulator(3);
        acc.Add([0], [0]);
        var before = acc.ToJson();
        var e = Assert.ThrowsExactly<DataFormatException>(() => acc.Add(pred, gt));
        StringAssert.Contains(e.Message, "predicted label 3 at pixel (1, 1) is outside 0..2");
        Assert.AreEqual(pred, e.FilePath);
        Assert.AreEqual(before, acc.ToJson());

        Png.WriteLabels(gt, [0, 1, 2, 255, 7, 1], 3, 2);
        Png.WriteLabels(pred, [0, 1, 2, 2, 1, 1], 3, 2);
        e = Assert.ThrowsExactly<DataFormatException>(() => acc.Add(pred, gt));
        StringAssert.Contains(e.Message, "ground-truth label 7 at pixel (1, 1) is outside 0..2 and is not the ignore label 255");
        Assert.AreEqual(gt, e.FilePath);
        Assert.AreEqual(before, acc.ToJson());

        e = Assert.ThrowsExactly<DataFormatException>(() => acc.Add([0, 5], [0, 0]));
        StringAssert.Contains(e.Message, "predicted label 5 at pixel 1");
        e = Assert.ThrowsExactly<DataFormatException>(() => acc.Add([0, 0], [0]));
        StringAssert.Contains(e.Message, "size mismatch");
        Assert.AreEqual(before, acc.ToJson());
    }

    [TestMethod]
    public void FolderProblemsNameTheFiles()
    {
        var root = TestPaths.NewTempFolder();
        var (gtFolder, predFolder, _) = WriteFolders(root, count: 4, k: 5, seed: 1);

        // Missing prediction.
        var missing = Path.Combine(predFolder, "img_002.png");
        File.Delete(missing);
        var e = Assert.ThrowsExactly<DataFormatException>(() => SemanticSegmentationEvaluator.EvaluateFolders(gtFolder, predFolder, 5));
        Assert.AreEqual(missing, e.FilePath);
        StringAssert.Contains(e.Message, "not found");

        // Size mismatch: both files named.
        var (w, h) = SizeOf(Path.Combine(gtFolder, "img_002.png"));
        Png.WriteLabels(missing, new int[(w + 1) * h], w + 1, h);
        e = Assert.ThrowsExactly<DataFormatException>(() => SemanticSegmentationEvaluator.EvaluateFolders(gtFolder, predFolder, 5));
        StringAssert.Contains(e.Message, missing);
        StringAssert.Contains(e.Message, Path.Combine(gtFolder, "img_002.png"));

        // An RGB panoptic PNG where a label map is expected.
        Png.WriteIds(missing, new uint[w * h], w, h);
        e = Assert.ThrowsExactly<DataFormatException>(() => SemanticSegmentationEvaluator.EvaluateFolders(gtFolder, predFolder, 5));
        StringAssert.Contains(e.Message, "8-bit RGB");

        // Two bad images: the first in name order is reported whatever the thread count.
        File.Delete(Path.Combine(predFolder, "img_000.png"));
        foreach (var threads in new[] { 1, 4 })
        {
            e = Assert.ThrowsExactly<DataFormatException>(() => SemanticSegmentationEvaluator.EvaluateFolders(gtFolder, predFolder, 5, threads: threads));
            Assert.AreEqual(Path.Combine(predFolder, "img_000.png"), e.FilePath);
        }

        var empty = Path.Combine(root, "empty");
        Directory.CreateDirectory(empty);
        e = Assert.ThrowsExactly<DataFormatException>(() => SemanticSegmentationEvaluator.EvaluateFolders(empty, predFolder, 5));
        StringAssert.Contains(e.Message, "no .png");
        Assert.ThrowsExactly<DirectoryNotFoundException>(() => SemanticSegmentationEvaluator.EvaluateFolders(Path.Combine(root, "nope"), predFolder, 5));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new SemanticSegmentationAccumulator(0));
        Assert.ThrowsExactly<ArgumentException>(() => new SemanticSegmentationAccumulator(2).ComputeMetrics(["a"]));
        Assert.ThrowsExactly<ArgumentException>(() => new SemanticSegmentationAccumulator(2).ComputeMetrics(["a", "a"]));
    }

    // ------------------------------------------------------------------ CLI

    [TestMethod]
    public void CliWritesTheTableAndDetectron2ResultJson()
    {
        var root = TestPaths.NewTempFolder();
        var gtFolder = Path.Combine(root, "gt");
        var predFolder = Path.Combine(root, "pred");
        Directory.CreateDirectory(gtFolder);
        Directory.CreateDirectory(predFolder);
        // The hand-computed case split over two images (2×3 and 2×2).
        Png.WriteLabels(Path.Combine(gtFolder, "a.png"), Gt1[..6], 3, 2);
        Png.WriteLabels(Path.Combine(predFolder, "a.png"), Pred1[..6], 3, 2);
        Png.WriteLabels(Path.Combine(gtFolder, "b.png"), Gt1[6..], 2, 2);
        Png.WriteLabels(Path.Combine(predFolder, "b.png"), Pred1[6..], 2, 2);
        var names = Path.Combine(root, "names.txt");
        File.WriteAllLines(names, ["road", "car", "sky"]);
        var output = Path.Combine(root, "out", "semantic.json");

        var (code, stdout, stderr) = Cli("eval", "semantic", "--gt-folder", gtFolder, "--pred-folder", predFolder, "--num-classes", "3",
            "--class-names", names, "--json", output, "--threads", "2");
        Assert.AreEqual(0, code, stderr);
        StringAssert.Contains(stdout, "mIoU,fwIoU,mACC,pACC");
        StringAssert.Contains(stdout, "46.6667,45.0000,72.2222,62.5000");
        StringAssert.Contains(stdout, "road");
        var semSeg = JsonDocument.Parse(File.ReadAllText(output)).RootElement.GetProperty("sem_seg");
        CollectionAssert.AreEqual(
            new[] { "mIoU", "fwIoU", "IoU-road", "IoU-car", "IoU-sky", "mACC", "pACC", "ACC-road", "ACC-car", "ACC-sky" },
            semSeg.EnumerateObject().Select(p => p.Name).ToArray());
        Assert.AreEqual(100 * ((0.4 + 0.5 + 0.5) / 3), semSeg.GetProperty("mIoU").GetDouble());
        Assert.AreEqual(45.0, semSeg.GetProperty("fwIoU").GetDouble(), 1e-12);
        Assert.AreEqual(62.5, semSeg.GetProperty("pACC").GetDouble());
        Assert.AreEqual(40.0, semSeg.GetProperty("IoU-road").GetDouble(), 1e-12);
        Assert.AreEqual(100.0, semSeg.GetProperty("ACC-sky").GetDouble());
        Assert.AreEqual(1, Directory.GetFiles(Path.GetDirectoryName(output)!).Length, "no temporary file is left");

        // Default ignore label 255 and default class names.
        (code, stdout, _) = Cli("eval", "semantic", "--gt-folder", gtFolder, "--pred-folder", predFolder, "--num-classes", "3");
        Assert.AreEqual(0, code);
        StringAssert.Contains(stdout, "46.6667,45.0000,72.2222,62.5000");
    }

    [TestMethod]
    public void CliBadInputsExitWithTwoAndOneLine()
    {
        var root = TestPaths.NewTempFolder();
        var (gtFolder, predFolder, _) = WriteFolders(root, count: 3, k: 4, seed: 2);
        var target = Path.Combine(predFolder, "img_001.png");

        (int, string) Run(params string[] extra)
        {
            var (code, _, stderr) = Cli(["eval", "semantic", "--gt-folder", gtFolder, "--pred-folder", predFolder, .. extra]);
            return (code, stderr);
        }

        void ExpectTwo(string mustContain, params string[] extra)
        {
            var (code, stderr) = Run(extra.Length == 0 ? ["--num-classes", "4"] : extra);
            Assert.AreEqual(2, code, stderr);
            var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.AreEqual(1, lines.Length, stderr);
            StringAssert.StartsWith(lines[0], "m2f: error: ");
            StringAssert.Contains(lines[0], mustContain);
        }

        var (w, h) = SizeOf(Path.Combine(gtFolder, "img_001.png"));
        var labels = new int[w * h];
        labels[^1] = 9;
        Png.WriteLabels(target, labels, w, h);
        ExpectTwo("predicted label 9");
        Png.WriteLabels(target, new int[(w + 1) * h], w + 1, h);
        ExpectTwo("size mismatch");
        Png.WriteIds(target, new uint[w * h], w, h);
        ExpectTwo("expected a single-channel label PNG");
        File.Delete(target);
        ExpectTwo(target);
        ExpectTwo("--num-classes", "--num-classes", "0");

        var (usage, stderrUsage) = Run();
        Assert.AreEqual(2, usage);
        StringAssert.Contains(stderrUsage, "--num-classes");
    }

    // ------------------------------------------------------------------ helpers

    private static (int Code, string Out, string Err) Cli(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = global::Mask2Former.Cli.Program.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    private static (int W, int H) SizeOf(string png)
    {
        using var r = PngRowReader.Open(png);
        return (r.Width, r.Height);
    }

    private static JsonElement WriteJson(SemanticSegmentationMetrics m)
    {
        var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            m.WriteJson(w);
            w.WriteEndObject();
        }
        return JsonDocument.Parse(ms.ToArray()).RootElement.Clone();
    }

    private static (int[] Pred, int[] Gt) RandomPair(Random rng, int k, int w, int h)
    {
        var gt = new int[w * h];
        var pred = new int[w * h];
        for (var i = 0; i < gt.Length; i++)
        {
            gt[i] = rng.NextDouble() < 0.1 ? 255 : rng.Next(k);
            pred[i] = rng.NextDouble() < 0.6 && gt[i] != 255 ? gt[i] : rng.Next(k);
        }
        return (pred, gt);
    }

    private static (string Gt, string Pred, List<(string Name, int[] Pred, int[] Gt)> Images) WriteFolders(string root, int count, int k, int seed)
    {
        var gtFolder = Path.Combine(root, "gt");
        var predFolder = Path.Combine(root, "pred");
        Directory.CreateDirectory(gtFolder);
        Directory.CreateDirectory(predFolder);
        var rng = new Random(seed);
        var images = new List<(string, int[], int[])>();
        for (var i = 0; i < count; i++)
        {
            int w = rng.Next(1, 40), h = rng.Next(1, 30);
            var (pred, gt) = RandomPair(rng, k, w, h);
            var name = $"img_{i:D3}.png";
            Png.WriteLabels(Path.Combine(gtFolder, name), gt, w, h);
            Png.WriteLabels(Path.Combine(predFolder, name), pred, w, h);
            images.Add((name, pred, gt));
        }
        // A prediction without ground truth is not read.
        File.WriteAllText(Path.Combine(predFolder, "zzz_extra.png"), "not even a PNG");
        return (gtFolder, predFolder, images);
    }

    private static void AssertSame(SemanticSegmentationMetrics expected, SemanticSegmentationMetrics actual)
    {
        Assert.AreEqual(expected.ImageCount, actual.ImageCount);
        CollectionAssert.AreEqual(expected.Results.Select(r => r.Key).ToArray(), actual.Results.Select(r => r.Key).ToArray());
        // Bit-identical, NaN included.
        CollectionAssert.AreEqual(expected.Results.Select(r => BitConverter.DoubleToInt64Bits(r.Value)).ToArray(),
            actual.Results.Select(r => BitConverter.DoubleToInt64Bits(r.Value)).ToArray());
    }
}
