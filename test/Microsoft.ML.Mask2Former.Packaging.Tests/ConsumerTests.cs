using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.ML.Mask2Former.Training.Runtime;

namespace Microsoft.ML.Mask2Former.Packaging.Tests;

/// <summary>
/// The packages as a user gets them: an application created outside the repository restores them from
/// the folder feed and scores, evaluates and runs TorchSharp; `dotnet tool install` of m2f gives a tool
/// whose every TorchSharp command (train, export, forward) loads libtorch on this Debian 12 host.
/// </summary>
[TestClass]
public sealed partial class ConsumerTests
{
    public TestContext TestContext { get; set; } = null!;

    [GeneratedRegex(@"PQ=(?<pq>\S+) SQ=\S+ RQ=\S+")]
    private static partial Regex PqLine();

    [TestMethod]
    public void AnApplicationRestoresThePackagesFromTheFeedWithoutWarnings()
    {
        var app = Consumers.App;
        TestContext.WriteLine($"`{app.Build.Command}`: {app.Build.Elapsed.TotalSeconds:F0} s");
        CollectionAssert.AreEqual(Array.Empty<string>(), app.Build.Warnings, app.Build.Output);
        var feed = PackedFeed.Get();
        foreach (var id in new[] { "microsoft.ml.mask2former", "microsoft.ml.mask2former.training" })
            Assert.IsTrue(Directory.Exists(Path.Combine(feed.Packages, id, feed.Version)), $"{id} was not restored from the feed");
        // The package's build step fixed the application's copy of libLibTorchSharp.so where this host needs it.
        var hostNeedsFix = GlibcxxVersionFix.HostProvidesVersion(out _) == false;
        var copy = File.ReadAllBytes(Path.Combine(Path.GetDirectoryName(app.Executable)!, "libLibTorchSharp.so"));
        Assert.AreEqual(hostNeedsFix ? 0 : 1, GlibcxxVersionFix.MarkWeak(copy, GlibcxxVersionFix.VersionName), "the output copy of libLibTorchSharp.so");
    }

    [TestMethod]
    public void TheApplicationAndTheInstalledToolSegmentAndEvaluateAlike()
    {
        // LoadFromCocoPanoptic → LoadImages → SegmentPanoptic → Evaluate in the application.
        var val = Path.Combine(Consumers.Data, "val");
        var images = Path.Combine(val, "images");
        var scored = Consumers.Run(Consumers.App.Executable, "pq", Path.Combine(val, "panoptic.json"), Path.Combine(val, "panoptic"), images, Consumers.Model);
        TestContext.WriteLine(scored.Output);
        StringAssert.Contains(scored.Output, "|    PQ     SQ     RQ     N");
        var pq = Pq(scored);

        // m2f segment + m2f eval panoptic from the installed tool, with the same thresholds (labels.json: 0 and 0).
        var folder = PackedFeed.Get().NewFolder("segmented");
        var (json, pngs) = (Path.Combine(folder, "pred.json"), Path.Combine(folder, "pred"));
        var segment = Consumers.Run(Consumers.Tool, "segment", "--model", Consumers.Model, "--labels", Path.Combine(Consumers.Data, "labels.json"),
            "--images", images, "--out-json", json, "--out-folder", pngs);
        StringAssert.Contains(segment.Output, "4 images segmented");
        var report = Path.Combine(folder, "pq.json");
        var eval = Consumers.Run(Consumers.Tool, "eval", "panoptic", "--gt-json", Path.Combine(val, "panoptic.json"), "--gt-folder", Path.Combine(val, "panoptic"),
            "--pred-json", json, "--pred-folder", pngs, "--json", report);
        TestContext.WriteLine(eval.Output);
        using (var doc = JsonDocument.Parse(File.ReadAllText(report)))
            Assert.AreEqual(pq, doc.RootElement.GetProperty("panoptic").GetProperty("All").GetProperty("pq").GetDouble(), 1e-12, "PQ from m2f eval panoptic");

        // m2f's predictions taken as the ground truth: the pipeline's segments are exactly the same ones.
        var same = Consumers.Run(Consumers.App.Executable, "pq", json, pngs, images, Consumers.Model);
        TestContext.WriteLine(same.Output);
        Assert.AreEqual(1.0, Pq(same), "the ML.NET pipeline and m2f segment give identical segments");
    }

    private static double Pq(ProcessResult run) =>
        double.Parse(PqLine().Match(run.Output).Groups["pq"].Value, CultureInfo.InvariantCulture);

    [TestMethod]
    public void TheInstalledToolRunsTheReferenceModelAsTheReferenceDoes()
    {
        var model = PackedFeed.Get().NewFolder("reference-model");
        File.Copy(Path.Combine(TestPaths.Reference, "model", "small_config.json"), Path.Combine(model, "config.json"));
        File.Copy(Path.Combine(TestPaths.Reference, "model", "small_model.safetensors"), Path.Combine(model, "model.safetensors"));
        var output = Path.Combine(model, "forward.safetensors");
        var forward = Consumers.Run(Consumers.Tool, "forward", "--model", model, "--inputs", Path.Combine(TestPaths.Reference, "model", "small_io.safetensors"), "--out", output);
        StringAssert.Contains(forward.Output, "Ran 2 input(s)");
        // Read back through the Training package and TorchSharp inside the application.
        var compared = Consumers.Run(Consumers.App.Executable, "compare", output, Path.Combine(TestPaths.Reference, "model", "small_io.safetensors"));
        TestContext.WriteLine(compared.Output);
    }

    [TestMethod]
    public void TheInstalledNativeEvaluatorPrintsWhatM2fEvalPrints()
    {
        // The reference case's panoptic and instance files; m2f-eval's commands are m2f eval's.
        var data = TestPaths.EvaluationCase("sample");
        var folder = PackedFeed.Get().NewFolder("native-eval");
        string[][] commands =
        [
            ["panoptic", "--gt-json", Path.Combine(data, "panoptic_gt.json"), "--gt-folder", Path.Combine(data, "panoptic_gt"),
                "--pred-json", Path.Combine(data, "panoptic_pred.json"), "--pred-folder", Path.Combine(data, "panoptic_pred"), "--per-class"],
            ["instances", "--gt", Path.Combine(data, "instances_gt.json"), "--results", Path.Combine(data, "detections_bbox.json"), "--iou-type", "bbox"],
            ["instances", "--gt", Path.Combine(data, "instances_gt.json"), "--results", Path.Combine(data, "detections_segm.json"), "--iou-type", "segm", "--per-class"],
        ];
        using var expected = JsonDocument.Parse(File.ReadAllText(Path.Combine(data, "expected.json")));
        foreach (var command in commands)
        {
            var name = string.Join(' ', command.Take(command[0] == "instances" ? 7 : 1));
            var native = Consumers.Run(Consumers.EvalTool, [.. command, "--json", Path.Combine(folder, $"native-{command.Length}.json")]);
            // m2f evaluating in its own process (the tool hands eval over to m2f-eval unless told not to).
            var managed = ProcessRunner.Run(Consumers.Tool, PackedFeed.Get().Root, ["eval", .. command, "--json", Path.Combine(folder, $"managed-{command.Length}.json")],
                TimeSpan.FromMinutes(4), new Dictionary<string, string> { ["M2F_NATIVE_EVAL"] = "0" }).Succeeded();
            TestContext.WriteLine(native.Output);
            CollectionAssert.AreEqual(WithoutTiming(managed.Output), WithoutTiming(native.Output), name);
            Assert.AreEqual(File.ReadAllText(Path.Combine(folder, $"managed-{command.Length}.json")), File.ReadAllText(Path.Combine(folder, $"native-{command.Length}.json")), name);
        }
        // The numbers are the reference tools' (panopticapi, pycocotools).
        using var pq = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, $"native-{commands[0].Length}.json")));
        Assert.AreEqual(expected.RootElement.GetProperty("panoptic").GetProperty("All").GetProperty("pq").GetDouble(),
            pq.RootElement.GetProperty("panoptic").GetProperty("All").GetProperty("pq").GetDouble(), "PQ");
        using var segm = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, $"native-{commands[2].Length}.json")));
        CollectionAssert.AreEqual(expected.RootElement.GetProperty("coco_segm").GetProperty("stats").EnumerateArray().Select(e => e.GetDouble()).ToArray(),
            segm.RootElement.GetProperty("coco_segm").GetProperty("stats").EnumerateArray().Select(e => e.GetDouble()).ToArray(), "mask AP stats");

        // The installed m2f hands eval over to the m2f-eval it carries (its help is m2f-eval's), and
        // prints the same as in its own process.
        StringAssert.Contains(Consumers.Run(Consumers.Tool, "eval", "--help").Output, "(native code)");
        var handedOver = Consumers.Run(Consumers.Tool, ["eval", .. commands[2]]);
        CollectionAssert.AreEqual(WithoutTiming(Consumers.Run(Consumers.EvalTool, commands[2]).Output), WithoutTiming(handedOver.Output), "m2f eval instances, handed over");

        // The chart draws through SkiaSharp's native library, which the package carries beside the executable.
        var chart = Path.Combine(folder, "pq.png");
        Consumers.Run(Consumers.EvalTool, [.. commands[0], "--chart", chart]);
        Assert.IsGreaterThan(1000L, new FileInfo(chart).Length, "the chart PNG");

        // Refusals are m2f's: exit 2, one line naming the problem.
        var refused = ProcessRunner.Run(Consumers.EvalTool, folder, ["panoptic", "--gt-json", Path.Combine(data, "panoptic_gt.json"), "--gt-folder", Path.Combine(data, "panoptic_gt"),
            "--pred-json", Path.Combine(data, "panoptic_pred.json"), "--pred-folder", Path.Combine(data, "panoptic_pred"), "--json", Path.Combine(data, "panoptic_gt.json")], TimeSpan.FromMinutes(1));
        Assert.AreEqual(2, refused.ExitCode, refused.Output);
        StringAssert.Contains(refused.Output, "would overwrite the input --gt-json");
    }

    private static string[] WithoutTiming(string output) =>
        output.Split('\n').Where(l => !l.StartsWith("Evaluated ", StringComparison.Ordinal)).ToArray();
}
