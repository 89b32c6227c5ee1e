using Microsoft.ML.Mask2Former.Formats;
using Microsoft.ML.Mask2Former.Rendering;
using Microsoft.ML.Mask2Former.Tests.Evaluation;
using SkiaSharp;

namespace Microsoft.ML.Mask2Former.Tests.Rendering;

[TestClass]
public sealed class RenderingTests
{
    [TestMethod]
    public void PaletteSeparatesTheCocoCategories()
    {
        // Every pair among the first 200 ids differs clearly (sum of channel differences), and
        // every colour is strong enough to show over a photo.
        var colors = Enumerable.Range(1, 200).Select(CategoryPalette.ColorOf).ToArray();
        var closest = int.MaxValue;
        for (var i = 0; i < colors.Length; i++)
            for (var j = i + 1; j < colors.Length; j++)
                closest = Math.Min(closest, Math.Abs(colors[i].R - colors[j].R) + Math.Abs(colors[i].G - colors[j].G) + Math.Abs(colors[i].B - colors[j].B));
        Assert.IsGreaterThanOrEqualTo(14, closest, $"closest pair differs by {closest}");
        foreach (var (r, g, b) in colors) Assert.IsGreaterThanOrEqualTo(150, Math.Max(r, Math.Max(g, b)));
    }

    private static (uint[] Map, OverlaySegment[] Segments) TwoSquares(int w, int h)
    {
        var map = new uint[w * h];
        for (var y = 2; y < 22; y++) for (var x = 2; x < 22; x++) map[y * w + x] = 7;
        for (var y = 4; y < 26; y++) for (var x = 30; x < 58; x++) map[y * w + x] = 300;
        return (map, [new OverlaySegment(7, 1, "person", 0.91f), new OverlaySegment(300, 21, "cow")]);
    }

    private static SKBitmap Decode(byte[] png) =>
        SKBitmap.Decode(png).Copy(SKColorType.Rgba8888);

    [TestMethod]
    public void ScaleEnlargesImageAndMapTogether()
    {
        const int w = 64, h = 32;
        var (map, segments) = TwoSquares(w, h);
        using var bitmap = Decode(SegmentationOverlay.RenderPng([], map, w, h, segments, new OverlayOptions { DrawLabels = false, Opacity = 0.5f, Scale = 3 }));
        Assert.AreEqual(3 * w, bitmap.Width);
        Assert.AreEqual(3 * h, bitmap.Height);
        var (r, _, _) = CategoryPalette.ColorOf(1);
        Assert.AreEqual((byte)(128 * 0.5f + r * 0.5f + 0.5f), bitmap.GetPixel(3 * 12, 3 * 12).Red, "the tint lands on the enlarged segment");
        Assert.AreEqual(new SKColor(128, 128, 128), bitmap.GetPixel(3 * 26, 3 * 28), "void stays untouched");
        Assert.ThrowsExactly<ArgumentException>(() => SegmentationOverlay.RenderPng([], map, w, h, segments, new OverlayOptions { Scale = 0 }));
    }

    [TestMethod]
    public void TintBoundaryAndVoidAreWhereTheMapSays()
    {
        const int w = 64, h = 32;
        var (map, segments) = TwoSquares(w, h);
        var png = SegmentationOverlay.RenderPng([], map, w, h, segments, new OverlayOptions { DrawLabels = false, Opacity = 0.5f });
        using var bitmap = Decode(png);
        Assert.AreEqual(w, bitmap.Width);
        Assert.AreEqual(h, bitmap.Height);

        var (r, g, b) = CategoryPalette.ColorOf(1);
        var inside = bitmap.GetPixel(12, 12);
        Assert.AreEqual((byte)(128 * 0.5f + r * 0.5f + 0.5f), inside.Red);
        Assert.AreEqual((byte)(128 * 0.5f + g * 0.5f + 0.5f), inside.Green);
        Assert.AreEqual((byte)(128 * 0.5f + b * 0.5f + 0.5f), inside.Blue);
        Assert.AreEqual(new SKColor(255, 255, 255), bitmap.GetPixel(2, 12), "left edge of the first square is a boundary");
        Assert.AreEqual(new SKColor(255, 255, 255), bitmap.GetPixel(1, 12), "void next to a segment is drawn as boundary too");
        Assert.AreEqual(new SKColor(128, 128, 128), bitmap.GetPixel(26, 28), "void far from segments is untouched");
        Assert.AreNotEqual(inside, bitmap.GetPixel(44, 15), "another category, another colour");
    }

    [TestMethod]
    public void CaptionsAreDrawnInsideTheirSegments()
    {
        const int w = 200, h = 120;
        var map = new uint[w * h];
        for (var y = 10; y < 110; y++) for (var x = 10; x < 190; x++) map[y * w + x] = 5;
        OverlaySegment[] segments = [new(5, 3, "car", 0.5f)];
        using var plain = Decode(SegmentationOverlay.RenderPng([], map, w, h, segments, new OverlayOptions { DrawLabels = false }));
        using var labelled = Decode(SegmentationOverlay.RenderPng([], map, w, h, segments, new OverlayOptions { TextSize = 14 }));
        var changed = 0;
        var outside = 0;
        for (var y = 0; y < h; y++)
            for (var x = 0; x < w; x++)
            {
                if (plain.GetPixel(x, y) == labelled.GetPixel(x, y)) continue;
                changed++;
                if (Math.Abs(x - 100) > 60 || Math.Abs(y - 60) > 25) outside++;
            }
        Assert.IsGreaterThan(200, changed, "a caption plate with text was drawn");
        Assert.AreEqual(0, outside, "the caption sits at the segment's centre");
    }

    [TestMethod]
    public void BadInputNamesTheProblem()
    {
        const int w = 64, h = 32;
        var (map, segments) = TwoSquares(w, h);
        var e = Assert.ThrowsExactly<ArgumentException>(() => SegmentationOverlay.RenderPng([], map, w, h, segments[..1]));
        StringAssert.Contains(e.Message, "id 300");
        Assert.ThrowsExactly<ArgumentException>(() => SegmentationOverlay.RenderPng([], map, w, h + 1, segments));

        var folder = TestPaths.NewTempFolder();
        var corrupt = Path.Combine(folder, "broken.jpg");
        File.WriteAllBytes(corrupt, [0xFF, 0xD8, 0xFF, 0x00, 0x01, 0x02]);
        var d = Assert.ThrowsExactly<DataFormatException>(() => SegmentationOverlay.RenderPng(corrupt, map, w, h, segments));
        StringAssert.Contains(d.Message, "broken.jpg");

        var small = Path.Combine(folder, "small.png");
        File.WriteAllBytes(small, SegmentationOverlay.RenderPng([], new uint[16 * 8], 16, 8, []));
        d = Assert.ThrowsExactly<DataFormatException>(() => SegmentationOverlay.RenderPng(small, map, w, h, segments));
        StringAssert.Contains(d.Message, "16×8");
    }

    [TestMethod]
    public void OverlayOfAnImageFileKeepsItsPixelsOnVoid()
    {
        const int w = 64, h = 32;
        var (map, segments) = TwoSquares(w, h);
        var rgb = new byte[w * h * 3];
        for (var i = 0; i < rgb.Length; i++) rgb[i] = (byte)(i * 7);
        var source = Path.Combine(TestPaths.NewTempFolder(), "image.png");
        File.WriteAllBytes(source, SegmentationOverlay.RenderPng(rgb, new uint[w * h], w, h, []));
        var output = Path.Combine(Path.GetDirectoryName(source)!, "overlay.png");
        SegmentationOverlay.Save(output, source, map, w, h, segments);
        using var bitmap = Decode(File.ReadAllBytes(output));
        var i0 = 28 * w + 26;
        Assert.AreEqual(new SKColor(rgb[3 * i0], rgb[3 * i0 + 1], rgb[3 * i0 + 2]), bitmap.GetPixel(26, 28));
    }

    [TestMethod]
    public void ChartHasOneBarPerCountedClassBestFirst()
    {
        var metrics = PanopticReferenceTests.EvaluateCase("sample");
        using var bitmap = Decode(PanopticQualityChart.RenderPng(metrics, 900));
        var counted = metrics.PerClass.Count(c => c.IsCounted);
        Assert.AreEqual(13, counted);
        Assert.AreEqual((int)(62 + counted * 22 + 24), bitmap.Height);

        // The first bar is the best class's colour and the longest.
        var best = metrics.PerClass.Where(c => c.IsCounted).OrderByDescending(c => c.PanopticQuality).First();
        var (r, g, b) = CategoryPalette.ColorOf(best.CategoryId);
        var rowMiddle = 62 + 11;
        var barPixels = Enumerable.Range(0, 900).Count(x => bitmap.GetPixel(x, rowMiddle) == new SKColor(r, g, b));
        Assert.IsGreaterThan(20, barPixels, "the best class's bar is drawn in its colour");
    }
}
