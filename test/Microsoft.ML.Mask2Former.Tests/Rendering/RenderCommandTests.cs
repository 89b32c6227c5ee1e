using Microsoft.ML.Mask2Former.Formats;
using SkiaSharp;

namespace Microsoft.ML.Mask2Former.Tests.Rendering;

[TestClass]
public sealed class RenderCommandTests
{
    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = global::Mask2Former.Cli.Program.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [TestMethod]
    public void RendersOneOverlayPerImageAtItsSize()
    {
        var dir = TestPaths.EvaluationCase("sample");
        var output = TestPaths.NewTempFolder();
        var (code, _, err) = Run("render", "--json", Path.Combine(dir, "panoptic_pred.json"), "--png-folder", Path.Combine(dir, "panoptic_pred"),
            "--categories", Path.Combine(dir, "panoptic_gt.json"), "--out", output);
        Assert.AreEqual(0, code, err);
        var gt = CocoPanopticDataset.Load(Path.Combine(dir, "panoptic_gt.json"));
        var predictions = CocoPanopticDataset.Load(Path.Combine(dir, "panoptic_pred.json"));
        Assert.AreEqual(predictions.Annotations.Count, Directory.GetFiles(output, "*.png").Length);
        foreach (var a in predictions.Annotations)
        {
            var image = gt.Images.Single(i => i.Id == a.ImageId);
            using var bitmap = SKBitmap.Decode(Path.Combine(output, Path.GetFileNameWithoutExtension(a.FileName) + ".png"));
            Assert.AreEqual(image.Width, bitmap.Width);
            Assert.AreEqual(image.Height, bitmap.Height);
        }
    }

    [TestMethod]
    public void ASetWithoutCategoriesOrMissingImagesIsRefusedWithExitTwo()
    {
        var dir = TestPaths.EvaluationCase("sample");
        var folder = TestPaths.NewTempFolder();
        var bare = Path.Combine(folder, "pred.json");
        var predictions = CocoPanopticDataset.Load(Path.Combine(dir, "panoptic_pred.json"));
        new CocoPanopticDataset([], predictions.Annotations, []).Save(bare);
        var (code, _, err) = Run("render", "--json", bare, "--png-folder", Path.Combine(dir, "panoptic_pred"), "--out", TestPaths.NewTempFolder());
        Assert.AreEqual(2, code, err);
        StringAssert.Contains(err, "--categories");

        (code, _, err) = Run("render", "--json", Path.Combine(dir, "panoptic_gt.json"), "--png-folder", Path.Combine(dir, "panoptic_gt"),
            "--images", TestPaths.NewTempFolder(), "--out", TestPaths.NewTempFolder());
        Assert.AreEqual(2, code, err);
        StringAssert.Contains(err, "no image for");
    }

    [TestMethod]
    public void EvalPanopticDrawsTheChart()
    {
        var dir = TestPaths.EvaluationCase("sample");
        var chart = Path.Combine(TestPaths.NewTempFolder(), "pq.png");
        var (code, _, err) = Run("eval", "panoptic", "--gt-json", Path.Combine(dir, "panoptic_gt.json"), "--gt-folder", Path.Combine(dir, "panoptic_gt"),
            "--pred-json", Path.Combine(dir, "panoptic_pred.json"), "--pred-folder", Path.Combine(dir, "panoptic_pred"), "--chart", chart);
        Assert.AreEqual(0, code, err);
        using var bitmap = SKBitmap.Decode(chart);
        Assert.AreEqual(900, bitmap.Width);
    }
}
