using System.Numerics;
using Microsoft.ML.Mask2Former.PostProcessing;
using Microsoft.ML.Mask2Former.ReferenceArithmetic;

namespace Microsoft.ML.Mask2Former.Tests.PostProcessing;

/// <summary>
/// The vectorised, banded and parallel kernels give exactly the bits of the per-pixel formulas
/// they replace (the formulas the reference tests pin to PyTorch): sigmoid lane for lane, bilinear
/// rows in any banding, and the panoptic argmax over many bands with NaN, infinite and tied logits.
/// </summary>
[TestClass]
public sealed class VectorisedKernelTests
{
    [TestMethod]
    public void VectorSigmoidEqualsScalarBitForBit()
    {
        var values = new List<float>
        {
            float.NaN, float.PositiveInfinity, float.NegativeInfinity, 0f, -0f, float.Epsilon, -float.Epsilon,
            float.MaxValue, float.MinValue, 100f, -100f, 104f, -104f, BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(104f) + 1),
            BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(100f) + 1), 1e-30f, -1e-30f, 88.7f, -88.7f, 0.5f, -0.5f,
        };
        // Where d·log2(e) rounds half-way, and a dense random sweep of every exponent range.
        for (var n = -150; n <= 150; n++) values.Add((n + 0.5f) / 1.442695f);
        var random = new Random(11);
        for (var i = 0; i < 200_000; i++)
        {
            var bits = random.Next() ^ (random.Next(2) << 31);
            var v = BitConverter.Int32BitsToSingle(bits);
            values.Add(i % 2 == 0 ? v : (float)(random.NextDouble() * 240 - 120));
        }
        var data = values.ToArray();
        var vectorised = (float[])data.Clone();
        TorchFloat.SigmoidInPlace(vectorised);
        var differ = 0;
        for (var i = 0; i < data.Length; i++)
        {
            var expected = TorchFloat.Sigmoid(data[i]);
            if (BitConverter.SingleToInt32Bits(expected) != BitConverter.SingleToInt32Bits(vectorised[i]) && !(float.IsNaN(expected) && float.IsNaN(vectorised[i])))
                differ++;
        }
        Assert.AreEqual(0, differ, $"{differ} of {data.Length} lanes differ from the scalar sigmoid (vector width {Vector<float>.Count})");
    }

    [TestMethod]
    [DataRow(7, 9, 50, 61)]
    [DataRow(200, 304, 800, 1216)]
    [DataRow(32, 32, 384, 384)]
    [DataRow(128, 112, 96, 84)]
    [DataRow(40, 40, 40, 40)]
    public void BandedResizeEqualsThePerPixelFormula(int height, int width, int outHeight, int outWidth)
    {
        var random = new Random(height * 31 + width);
        var source = new float[height * width];
        for (var i = 0; i < source.Length; i++) source[i] = (float)(random.NextDouble() * 40 - 20);
        source[0] = float.PositiveInfinity;
        source[source.Length / 2] = float.NaN;
        source[1] = -0f;
        var taps = new BilinearTaps(height, width, outHeight, outWidth);
        var expected = new float[outHeight * outWidth];
        for (var oy = 0; oy < outHeight; oy++)
            for (var ox = 0; ox < outWidth; ox++)
            {
                float At(int y, int x) => source[y * width + x];
                var t0 = TorchFloat.Blend(At(taps.Y0[oy], taps.X0[ox]), taps.WX0[ox], At(taps.Y0[oy], taps.X1[ox]), taps.WX1[ox]);
                var t1 = TorchFloat.Blend(At(taps.Y1[oy], taps.X0[ox]), taps.WX0[ox], At(taps.Y1[oy], taps.X1[ox]), taps.WX1[ox]);
                expected[oy * outWidth + ox] = TorchFloat.Blend(t0, taps.WY0[oy], t1, taps.WY1[oy]);
            }
        var whole = new float[expected.Length];
        TorchFloat.ResizeBilinear(source, height, width, width, whole, outHeight, outWidth, taps);
        AssertBits(expected, whole, "whole plane");
        foreach (var band in new[] { 1, 3, 17 })
        {
            var banded = new float[expected.Length];
            for (var start = 0; start < outHeight; start += band)
            {
                var end = Math.Min(outHeight, start + band);
                TorchFloat.ResizeBilinearRows(source, 0, width, width, banded.AsSpan(start * outWidth), start, end, outWidth, taps);
            }
            AssertBits(expected, banded, $"bands of {band} rows");
        }
    }

    [TestMethod]
    [DataRow(800, 1216, 800, 1216, 800, 1216)]
    [DataRow(800, 1216, 750, 1200, 480, 768)]
    [DataRow(512, 512, 500, 333, 1000, 666)]
    public void ParallelPanopticEqualsTheLiteralAlgorithm(int paddedHeight, int paddedWidth, int imageHeight, int imageWidth, int outputHeight, int outputWidth)
    {
        const int queries = 30, classes = 7;
        var random = new Random(paddedHeight + outputWidth);
        var classLogits = new float[queries * (classes + 1)];
        for (var i = 0; i < classLogits.Length; i++) classLogits[i] = (float)(random.NextDouble() * 4 - 2);
        for (var q = 0; q < 12; q++) classLogits[q * (classes + 1) + q % classes] = 6f;
        classLogits[5 * (classes + 1) + 5 % classes] = 6f;
        int h = paddedHeight / 4, w = paddedWidth / 4;
        var masks = new float[queries * h * w];
        for (var q = 0; q < queries; q++)
        {
            double cy = random.Next(h), cx = random.Next(w), r = 5 + random.Next(h / 2);
            for (var y = 0; y < h; y++)
                for (var x = 0; x < w; x++)
                    masks[(q * h + y) * w + x] = (float)((r - Math.Sqrt((y - cy) * (y - cy) + (x - cx) * (x - cx))) / 4);
        }
        // Exact ties between two queries (same logits and score), a NaN and infinities.
        Array.Copy(masks, 3 * h * w, masks, 4 * h * w, h * w);
        Array.Copy(classLogits, 3 * (classes + 1), classLogits, 4 * (classes + 1), classes + 1);
        masks[6 * h * w + 10 * w + 10] = float.NaN;
        masks[7 * h * w + 20 * w + 3] = float.PositiveInfinity;
        masks[8 * h * w + 5] = float.NegativeInfinity;
        var geometry = new ImageGeometry(paddedHeight, paddedWidth, imageHeight, imageWidth, outputHeight, outputWidth);
        var options = new PanopticOptions { ThingClasses = [0, 1, 2, 3], ObjectMaskThreshold = 0.5, OverlapThreshold = 0.3 };
        var actual = Mask2FormerPostProcessor.Panoptic(new Mask2FormerLogits(classLogits, masks, queries, classes, h, w), geometry, options);
        var expected = LiteralPanoptic(classLogits, masks, queries, classes, h, w, geometry, options);
        Assert.IsGreaterThan(1, actual.Segments.Length, "the case must produce segments");
        CollectionAssert.AreEqual(expected, actual.SegmentIds.ToArray());
    }

    [TestMethod]
    [DataRow(20, 40, 800, 1216, 750, 1200, 600, 960, true)]
    [DataRow(20, 40, 800, 1216, 750, 1200, 600, 960, false)]
    [DataRow(330, 12, 64, 96, 60, 90, 700, 1000, true)]
    [DataRow(330, 12, 64, 96, 60, 90, 700, 1000, false)]
    public void BandedSemanticMapEqualsTheWholePlaneMap(int queries, int classes, int paddedHeight, int paddedWidth, int imageHeight, int imageWidth, int outputHeight, int outputWidth, bool beforeInference)
    {
        // Enough classes × width for many bands; 330 queries also split the product into two K blocks.
        var random = new Random(queries + classes);
        var classLogits = new float[queries * (classes + 1)];
        for (var i = 0; i < classLogits.Length; i++) classLogits[i] = (float)(random.NextDouble() * 6 - 3);
        int h = paddedHeight / 4, w = paddedWidth / 4;
        var masks = new float[queries * h * w];
        for (var i = 0; i < masks.Length; i++) masks[i] = (float)(random.NextDouble() * 8 - 4);
        masks[h * w + 7] = float.NaN;
        var logits = new Mask2FormerLogits(classLogits, masks, queries, classes, h, w);
        var geometry = new ImageGeometry(paddedHeight, paddedWidth, imageHeight, imageWidth, outputHeight, outputWidth);
        var whole = Mask2FormerPostProcessor.Semantic(logits, geometry, new SemanticOptions { PostProcessBeforeInference = beforeInference, IncludeScores = true });
        var banded = Mask2FormerPostProcessor.Semantic(logits, geometry, new SemanticOptions { PostProcessBeforeInference = beforeInference });
        Assert.IsTrue(banded.Scores.IsEmpty);
        Assert.AreEqual(whole.Height, banded.Height);
        Assert.AreEqual(whole.Width, banded.Width);
        CollectionAssert.AreEqual(whole.ClassMap.ToArray(), banded.ClassMap.ToArray());
        Assert.IsGreaterThan(1, whole.ClassMap.Distinct().Count(), "the case must use several classes");
    }

    // detectron2's panoptic_inference step by step over whole planes (the formulation before
    // banding), with the shared float kernels.
    private static int[] LiteralPanoptic(float[] classLogits, float[] masks, int queries, int classes, int h, int w, ImageGeometry g, PanopticOptions options)
    {
        var probabilities = new Mask2FormerLogits(classLogits, masks, queries, classes, h, w).ClassProbabilities();
        var kept = new List<(int Query, float Score, int Label)>();
        for (var q = 0; q < queries; q++)
        {
            var row = probabilities.AsSpan(q * (classes + 1), classes + 1);
            var label = PixelMath.ArgMax(row);
            if (label != classes && row[label] > (float)options.ObjectMaskThreshold) kept.Add((q, row[label], label));
        }
        var toPadded = new BilinearTaps(h, w, g.PaddedHeight, g.PaddedWidth);
        var toOutput = new BilinearTaps(g.ImageHeight, g.ImageWidth, g.OutputHeight, g.OutputWidth);
        var pixels = g.OutputHeight * g.OutputWidth;
        var sig = new float[kept.Count][];
        var padded = new float[g.PaddedHeight * g.PaddedWidth];
        for (var k = 0; k < kept.Count; k++)
        {
            TorchFloat.ResizeBilinear(masks.AsSpan(kept[k].Query * h * w, h * w), h, w, w, padded, g.PaddedHeight, g.PaddedWidth, toPadded);
            sig[k] = new float[pixels];
            TorchFloat.ResizeBilinear(padded, g.ImageHeight, g.ImageWidth, g.PaddedWidth, sig[k], g.OutputHeight, g.OutputWidth, toOutput);
            for (var p = 0; p < pixels; p++) sig[k][p] = TorchFloat.Sigmoid(sig[k][p]);
        }
        var owner = new int[pixels];
        for (var p = 0; p < pixels; p++)
        {
            var best = kept[0].Score * sig[0][p];
            for (var k = 1; k < kept.Count; k++)
            {
                var v = kept[k].Score * sig[k][p];
                if (PixelMath.Replaces(v, best)) { best = v; owner[p] = k; }
            }
        }
        var map = new int[pixels];
        var stuff = new Dictionary<int, int>();
        var next = 0;
        for (var k = 0; k < kept.Count; k++)
        {
            long maskArea = 0, original = 0, both = 0;
            for (var p = 0; p < pixels; p++)
            {
                if (owner[p] == k) maskArea++;
                if (sig[k][p] >= 0.5f) original++;
                if (owner[p] == k && sig[k][p] >= 0.5f) both++;
            }
            if (!(maskArea > 0 && original > 0 && both > 0) || (double)maskArea / original < options.OverlapThreshold) continue;
            var isThing = options.ThingClasses!.Contains(kept[k].Label);
            int id;
            if (!isThing && stuff.TryGetValue(kept[k].Label, out var existing)) id = existing;
            else
            {
                id = ++next;
                if (!isThing) stuff[kept[k].Label] = id;
            }
            for (var p = 0; p < pixels; p++) if (owner[p] == k && sig[k][p] >= 0.5f) map[p] = id;
        }
        return map;
    }

    private static void AssertBits(float[] expected, float[] actual, string what)
    {
        var differ = 0;
        for (var i = 0; i < expected.Length; i++)
            if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]) && !(float.IsNaN(expected[i]) && float.IsNaN(actual[i]))) differ++;
        Assert.AreEqual(0, differ, $"{what}: {differ} of {expected.Length} values differ");
    }
}
