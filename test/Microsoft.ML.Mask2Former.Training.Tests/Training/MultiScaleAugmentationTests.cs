using Microsoft.ML.Mask2Former.Training.Data;

namespace Microsoft.ML.Mask2Former.Training.Tests.Training;

/// <summary>
/// The seed's multi-scale augmentation (<see cref="ImageResizeMode.MultiScale"/>): the sizes it
/// makes stay within the recipe, and the segment map stays on the photo.
/// </summary>
[TestClass]
public sealed class MultiScaleAugmentationTests
{
    private static readonly int[] ShortEdges = Enumerable.Range(0, 11).Select(i => 480 + 32 * i).ToArray();

    [TestMethod]
    [DataRow(480, 640)]
    [DataRow(427, 640)]
    [DataRow(640, 360)]
    [DataRow(200, 1500)]
    [DataRow(64, 64)]
    public void SizesFollowTheRecipe(int height, int width)
    {
        var random = new Random(7);
        int whole = 0, cropped = 0;
        for (var draw = 0; draw < 400; draw++)
        {
            var (nh, nw, top, left, outH, outW) = TrainingAugmentation.MultiScaleGeometry(height, width, random);
            Assert.IsTrue(top >= 0 && left >= 0 && top + outH <= nh && left + outW <= nw, $"window ({top}, {left}) {outH}×{outW} outside {nh}×{nw}");
            // Either the short edge is one of the recipe's (±1 for rounding) or the long edge hit 1333.
            var shortEdge = Math.Min(outH, outW);
            var longEdge = Math.Max(outH, outW);
            Assert.IsLessThanOrEqualTo(1334, longEdge, $"{outH}×{outW}");
            Assert.IsTrue(ShortEdges.Any(s => Math.Abs(s - shortEdge) <= 1) || longEdge >= 1332, $"{height}×{width} → {outH}×{outW}");
            if (top == 0 && left == 0 && outH == nh && outW == nw) whole++;
            else cropped++;
            // The aspect ratio of what is shown is kept (keep_ratio) within rounding.
            if (outH == nh && outW == nw)
                Assert.AreEqual((double)width / height, (double)nw / nh, 2.0 / Math.Min(nh, nw) + 2.0 / Math.Min(height, width));
        }
        // Both branches are taken (half each); the crop branch crops whenever the image is larger than 600 after its first resize.
        Assert.IsGreaterThan(100, whole, $"whole {whole}, cropped {cropped}");
        if (Math.Max(height, width) * 400.0 / Math.Min(height, width) > 600) Assert.IsGreaterThan(100, cropped, $"whole {whole}, cropped {cropped}");
    }

    [TestMethod]
    public void TheSegmentMapStaysOnThePhoto()
    {
        // Left third red = segment 0, the rest blue = segment 1: after any resize, crop and flip, a
        // pixel well inside a region has that region's colour and label.
        const int H = 300, W = 450;
        var rgb = new byte[H * W * 3];
        var index = new int[H * W];
        for (var y = 0; y < H; y++)
            for (var x = 0; x < W; x++)
            {
                var red = x < W / 3;
                rgb[(y * W + x) * 3] = red ? (byte)255 : (byte)0;
                rgb[(y * W + x) * 3 + 2] = red ? (byte)0 : (byte)255;
                index[y * W + x] = red ? 0 : 1;
            }
        var image = new PanopticTrainingImage("1", W, H, rgb, new uint[H * W], index, [3, 5]);
        var augmentation = new TrainingAugmentation { Mode = ImageResizeMode.MultiScale, Size = 64, PixelMean = [0, 0, 0], PixelStd = [255, 255, 255] };
        var random = new Random(3);
        var checkedPixels = 0;
        for (var draw = 0; draw < 20; draw++)
        {
            var example = augmentation.Apply(image, random);
            int h = example.Height, w = example.Width, plane = h * w;
            for (var p = 0; p < plane; p++)
            {
                var label = example.SegmentIndex[p];
                if (label < 0) continue;
                float r = example.Pixels[p], b = example.Pixels[2 * plane + p];
                if (Math.Abs(r - b) < 0.9f) continue; // the blended border
                var colour = r > b ? 3 : 5;
                Assert.AreEqual(colour, example.Labels[label], $"draw {draw}, {h}×{w}, pixel ({p % w}, {p / w})");
                checkedPixels++;
            }
        }
        Assert.IsGreaterThan(100_000, checkedPixels);
    }

    [TestMethod]
    public void TheTrainerTrainsOnMultiScaleBatches()
    {
        // Images of different shapes come out in different sizes; the batch pads them.
        var data = TrainingFixtures.Synthetic(images: 2, size: 48, maxThings: 2, seed: 5);
        var options = TrainingFixtures.Fast(steps: 2, size: 64);
        options.ResizeMode = ImageResizeMode.MultiScale;
        var losses = new List<double>();
        var result = new Mask2FormerTrainer(options).Fit(data, new SyncProgress(p => losses.Add(p.Loss)));
        using var network = result.Network;
        Assert.HasCount(2, losses);
        Assert.IsTrue(losses.All(double.IsFinite), string.Join(", ", losses));
    }
}
