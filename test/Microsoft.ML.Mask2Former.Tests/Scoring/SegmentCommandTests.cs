using Microsoft.ML.Mask2Former.Evaluation;
using Microsoft.ML.Mask2Former.Formats;
using Microsoft.ML.Mask2Former.Scoring;
using static Microsoft.ML.Mask2Former.Tests.Scoring.ScoringTestData;

namespace Microsoft.ML.Mask2Former.Tests.Scoring;

[TestClass]
public sealed class SegmentCommandTests
{
    internal static (int Code, string Out, string Err) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = global::Mask2Former.Cli.Program.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [TestMethod]
    public void SegmentWritesOnePngPerImageAndItsPanopticQualityAgainstItselfIsOne()
    {
        var folder = TestPaths.NewTempFolder();
        var images = Path.Combine(folder, "images");
        Directory.CreateDirectory(images);
        WriteImageSet(images);
        var labels = Path.Combine(folder, "labels.json");
        File.WriteAllText(labels, """
            {"labels": [
              {"id": 11, "name": "a", "isthing": 1}, {"id": 12, "name": "b", "isthing": 1}, {"id": 13, "name": "c", "isthing": 1},
              {"id": 14, "name": "d", "isthing": 1}, {"id": 15, "name": "e", "isthing": 1}, {"id": 16, "name": "f", "isthing": 1},
              {"id": 21, "name": "g", "isthing": 0}, {"id": 22, "name": "h", "isthing": 0}, {"id": 23, "name": "i", "isthing": 0},
              {"id": 24, "name": "j", "isthing": 0}],
             "object_mask_threshold": 0.0, "overlap_threshold": 0.0}
            """);
        var json = Path.Combine(folder, "pred.json");
        var pngs = Path.Combine(folder, "pred");
        var overlays = Path.Combine(folder, "overlays");
        var (code, _, err) = Run("segment", "--model", SmallModel, "--labels", labels, "--images", images, "--out-json", json, "--out-folder", pngs,
            "--input-size", "96x160", "--threads", "1", "--overlay", overlays);
        Assert.AreEqual(0, code, err);
        // --overlay: one drawing per image, enlarged so small images get legible captions.
        CollectionAssert.AreEqual(new[] { "000000000001_overlay.png", "000000000002_overlay.png", "street_overlay.png" },
            Directory.GetFiles(overlays).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray());
        using (var drawn = SkiaSharp.SKBitmap.Decode(Path.Combine(overlays, "000000000001_overlay.png")))
            Assert.AreEqual((3 * 160, 3 * 96), (drawn.Width, drawn.Height));

        var set = CocoPanopticDataset.Load(json);
        CollectionAssert.AreEqual(new[] { "1", "2", "street" }, set.Annotations.Select(a => a.ImageId).ToArray());
        CollectionAssert.AreEqual(new[] { "000000000001.png", "000000000002.png", "street.png" }, set.Annotations.Select(a => a.FileName).ToArray());
        Assert.AreEqual(10, set.Categories.Count);
        Assert.IsTrue(set.Annotations.SelectMany(a => a.Segments).Any(), "thresholds 0/0 keep segments");
        foreach (var a in set.Annotations)
        {
            var map = Png.ReadIds(Path.Combine(pngs, a.FileName), out var width, out var height);
            var image = set.Images.Single(i => i.Id == a.ImageId);
            Assert.AreEqual((image.Width, image.Height), (width, height));
            CollectionAssert.AreEquivalent(a.Segments.Select(s => s.Id).ToArray(), map.Where(v => v != 0).Distinct().ToArray());
            foreach (var s in a.Segments)
            {
                Assert.AreEqual(s.Area, map.LongCount(v => v == s.Id));
                Assert.IsTrue(s.CategoryId is >= 11 and <= 16 or >= 21 and <= 24);
            }
        }

        // The same files as ground truth: every segment matches itself.
        var metrics = PanopticEvaluator.EvaluateFiles(json, pngs, json, pngs);
        Assert.AreEqual(1.0, metrics.All.PanopticQuality, 1e-12);
        var (evalCode, evalOut, evalErr) = Run("eval", "panoptic", "--gt-json", json, "--gt-folder", pngs, "--pred-json", json, "--pred-folder", pngs);
        Assert.AreEqual(0, evalCode, evalErr);
        StringAssert.Contains(evalOut, "100.0");
    }

    [TestMethod]
    public void AnImageWithNoSegmentStillGetsAnAnnotationAndAnAllZeroPng()
    {
        var folder = TestPaths.NewTempFolder();
        var images = Path.Combine(folder, "images");
        Directory.CreateDirectory(images);
        WriteImage(images, "7.png", 40, 30);
        var labels = Path.Combine(folder, "labels.json");
        File.WriteAllText(labels, "{\"labels\": [" + string.Join(",", Enumerable.Range(0, 10).Select(i => $"{{\"id\": {i + 1}, \"name\": \"n{i}\", \"isthing\": 1}}"))
            + "], \"object_mask_threshold\": 0.999999}");
        var json = Path.Combine(folder, "pred.json");
        var pngs = Path.Combine(folder, "pred");
        var (code, _, err) = Run("segment", "--model", SmallModel, "--labels", labels, "--images", images, "--out-json", json, "--out-folder", pngs, "--input-size", "96x160");
        Assert.AreEqual(0, code, err);
        var set = CocoPanopticDataset.Load(json);
        Assert.HasCount(1, set.Annotations);
        Assert.AreEqual("7", set.Annotations[0].ImageId);
        Assert.IsEmpty(set.Annotations[0].Segments);
        Assert.IsTrue(Png.ReadIds(Path.Combine(pngs, "7.png"), out var w, out var h).All(v => v == 0));
        Assert.AreEqual((40, 30), (w, h));
    }

    [TestMethod]
    public void BadArgumentsExitWithTwoAndSayWhy()
    {
        var folder = TestPaths.NewTempFolder();
        var images = Path.Combine(folder, "images");
        Directory.CreateDirectory(images);
        var (code, _, err) = Run("segment", "--model", Path.Combine(folder, "none.onnx"), "--images", images, "--out-json", Path.Combine(folder, "p.json"), "--out-folder", Path.Combine(folder, "pred"));
        Assert.AreEqual(2, code);
        StringAssert.Contains(err, "images");

        WriteImage(images, "x.png", 10, 10);
        (code, _, err) = Run("segment", "--model", Path.Combine(folder, "none.onnx"), "--images", images, "--out-json", Path.Combine(folder, "p.json"), "--out-folder", Path.Combine(folder, "pred"));
        Assert.AreEqual(2, code);
        StringAssert.Contains(err, "none.onnx");

        (code, _, err) = Run("segment", "--model", SmallModel, "--images", images, "--out-json", Path.Combine(folder, "p.json"), "--out-folder", Path.Combine(folder, "pred"), "--input-size", "0x96");
        Assert.AreEqual(2, code, "a zero size is a usage error, not a crash inside the model");
        StringAssert.Contains(err, "--input-size must be HEIGHTxWIDTH");
    }

    [TestMethod]
    public void ImageIdIsTheIntegerValueOfANumericStem()
    {
        Assert.AreEqual("1", global::Mask2Former.Cli.Commands.SegmentCommand.ImageId("000000000001"));
        Assert.AreEqual("0", global::Mask2Former.Cli.Commands.SegmentCommand.ImageId("000"));
        Assert.AreEqual("a12", global::Mask2Former.Cli.Commands.SegmentCommand.ImageId("a12"));
        Assert.AreEqual("-3", global::Mask2Former.Cli.Commands.SegmentCommand.ImageId("-3"));
    }

    [TestMethod]
    public void ShortestEdgeResizeFollowsDetectron2()
    {
        Assert.AreEqual((800, 1067), ImagePreprocessor.ShortestEdgeSize(480, 640, 800, 1333));
        Assert.AreEqual((444, 1333), ImagePreprocessor.ShortestEdgeSize(300, 900, 800, 1333));
        Assert.AreEqual(800, ImagePreprocessor.PadTo(800, 32));
        Assert.AreEqual(1088, ImagePreprocessor.PadTo(1067, 32));
        Assert.AreEqual((96, 160), ImagePreprocessor.LetterboxSize(960, 1600, 96, 160));
        Assert.AreEqual((48, 160), ImagePreprocessor.LetterboxSize(300, 1000, 96, 160));
    }
}
