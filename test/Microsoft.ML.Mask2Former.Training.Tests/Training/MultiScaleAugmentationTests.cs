using Microsoft.ML.Mask2Former.Training.Data;

namespace Microsoft.ML.Mask2Former.Training.Tests.Training;

/// <summary>The DETR-style multi-scale recipe: output sizes within its spec, both of its policies drawn, masks on their pixels.</summary>
[TestClass]
public sealed class MultiScaleAugmentationTests
{
    private static readonly TrainingAugmentation MultiScale = new()
    {
        Mode = ImageResizeMode.MultiScale,
        Size = 64,
        PixelMean = [0, 0, 0],
        PixelStd = [255, 255, 255],
    };

    /// <summary>Top-left red (segment 0), top-right green (1), bottom half blue (2).</summary>
    private static PanopticTrainingImage ThreeColours(int h, int w)
    {
        var rgb = new byte[3 * h * w];
        var index = new int[h * w];
        for (var y = 0; y < h; y++)
        {
            for (var x = 0; x < w; x++)
            {
                var s = y >= h / 2 ? 2 : x >= w / 2 ? 1 : 0;
                index[y * w + x] = s;
                rgb[3 * (y * w + x) + s] = 255;
            }
        }
        return new PanopticTrainingImage("1", w, h, rgb, index.Select(i => (uint)(i + 1)).ToArray(), index, [0, 1, 2]);
    }

    [TestMethod]
    public void SizesFollowTheRecipeAndBothPoliciesAreDrawn()
    {
        var image = ThreeColours(300, 450);
        var edges = Enumerable.Range(0, 11).Select(i => 480 + 32 * i).ToHashSet();
        int keptRatio = 0, cropped = 0;
        for (var seed = 0; seed < 40; seed++)
        {
            var e = MultiScale.Apply(image, new Random(seed));
            int shortEdge = Math.Min(e.Height, e.Width), longEdge = Math.Max(e.Height, e.Width);
            Assert.IsLessThanOrEqualTo(1333, longEdge, $"seed {seed}: {e.Height}x{e.Width}");
            Assert.IsTrue(edges.Contains(shortEdge) || longEdge >= 1332, $"seed {seed}: {e.Height}x{e.Width} has neither a listed shortest edge nor the longest at 1333");
            Assert.AreEqual(3 * e.Height * e.Width, e.Pixels.Length);
            Assert.AreEqual(e.Height * e.Width, e.SegmentIndex.Length);
            // The first policy keeps the 2:3 aspect ratio; the crop (384–600 of a 400–600 × 600–900 image) mostly does not.
            if (Math.Abs((double)e.Width / e.Height - 1.5) < 0.01) keptRatio++;
            else cropped++;
        }
        Assert.IsGreaterThan(5, keptRatio, $"resize-only draws: {keptRatio}");
        Assert.IsGreaterThan(5, cropped, $"crop draws: {cropped}");
    }

    [TestMethod]
    public void CropsStayWithinTheSpecBeforeTheFinalResize()
    {
        // A small image: the crop is the whole resized image at most, and the output keeps a listed shortest edge.
        var image = ThreeColours(40, 70);
        for (var seed = 0; seed < 20; seed++)
        {
            var e = MultiScale.Apply(image, new Random(seed));
            Assert.IsLessThanOrEqualTo(800, Math.Min(e.Height, e.Width), $"seed {seed}");
            Assert.IsLessThanOrEqualTo(1333, Math.Max(e.Height, e.Width), $"seed {seed}");
        }
        Assert.AreEqual((600, 900), TrainingAugmentation.ShortestEdge(400, 600, 600));
        Assert.AreEqual((1333, 533), TrainingAugmentation.ShortestEdge(1000, 400, 800), "the longest edge caps at 1333");
    }

    [TestMethod]
    public void MasksStayOnTheirPixels()
    {
        var image = ThreeColours(300, 450);
        for (var seed = 0; seed < 12; seed++)
        {
            var e = MultiScale.Apply(image, new Random(seed));
            int h = e.Height, w = e.Width, plane = h * w, checkedPixels = 0;
            for (var y = 1; y < h - 1; y++)
            {
                for (var x = 1; x < w - 1; x++)
                {
                    var p = y * w + x;
                    var s = e.SegmentIndex[p];
                    Assert.IsGreaterThanOrEqualTo(0, s, $"seed {seed}: unlabelled pixel inside the image");
                    // Away from segment borders (antialiasing blends there) the pixel has its segment's colour.
                    if (e.SegmentIndex[p - 1] != s || e.SegmentIndex[p + 1] != s || e.SegmentIndex[p - w] != s || e.SegmentIndex[p + w] != s) continue;
                    if (y > 2 && y < h - 3 && (e.SegmentIndex[p - 3 * w] != s || e.SegmentIndex[p + 3 * w] != s)) continue;
                    if (x > 2 && x < w - 3 && (e.SegmentIndex[p - 3] != s || e.SegmentIndex[p + 3] != s)) continue;
                    var colour = e.Labels[s];
                    Assert.IsGreaterThan(0.9f, e.Pixels[colour * plane + p], $"seed {seed}: pixel ({y},{x}) of segment {colour} lacks its colour");
                    checkedPixels++;
                }
            }
            Assert.IsGreaterThan(plane / 2, checkedPixels, $"seed {seed}");
        }
    }
}
