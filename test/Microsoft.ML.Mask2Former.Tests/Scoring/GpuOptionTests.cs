using System.Diagnostics;
using Microsoft.ML.Data;
using Microsoft.ML.Mask2Former.Data;
using Microsoft.ML.Mask2Former.Scoring;
using static Microsoft.ML.Mask2Former.Tests.Scoring.ScoringTestData;

namespace Microsoft.ML.Mask2Former.Tests.Scoring;

/// <summary>
/// GpuDeviceId / FallbackToCpu on this build, whose ONNX Runtime is the CPU package: a GPU can never
/// start, so the request either falls back (with the reason, and exactly the CPU's segments) or is
/// refused naming the package to use. The CUDA build's side (CUDA 13 / cuDNN 9 missing) is covered by
/// the packaging tests, which build an application on Microsoft.ML.OnnxRuntime.Gpu.Linux.
/// </summary>
[TestClass]
public sealed class GpuOptionTests
{
    private static SegmentPanopticOptions Options(int? gpu, bool fallback) => new()
    {
        ModelPath = SmallModel, InputHeight = 96, InputWidth = 160, Labels = SmallLabels,
        ObjectMaskThreshold = 0, OverlapThreshold = 0, GpuDeviceId = gpu, FallbackToCpu = fallback,
    };

    [TestMethod]
    public void AGpuFallsBackToTheCpuWithAWarningAndTheSameSegments()
    {
        var folder = TestPaths.NewTempFolder();
        var ml = new MLContext(seed: 1);
        var data = Paths(ml, WriteImageSet(folder));
        var warnings = new StringWriter();
        using var listener = new TextWriterTraceListener(warnings);
        Trace.Listeners.Add(listener);
        Mask2FormerSegmentationEstimator onGpu;
        try
        {
            onGpu = ml.Transforms.SegmentPanoptic(Options(0, fallback: true));
        }
        finally
        {
            Trace.Listeners.Remove(listener);
        }
        listener.Flush();
        var onCpu = ml.Transforms.SegmentPanoptic(Options(null, fallback: false));

        Assert.IsNull(onCpu.GpuFallbackReason);
        StringAssert.Contains(onGpu.GpuFallbackReason, "GPU 0 is not used");
        StringAssert.Contains(onGpu.GpuFallbackReason, "Microsoft.ML.OnnxRuntime.Gpu.Linux");
        StringAssert.Contains(warnings.ToString(), onGpu.GpuFallbackReason!);
        var expected = Column<VBuffer<uint>>(Load(ml).Append(onCpu).Fit(data).Transform(data), PanopticColumnNames.PredictedSegmentMap);
        var actual = Column<VBuffer<uint>>(Load(ml).Append(onGpu).Fit(data).Transform(data), PanopticColumnNames.PredictedSegmentMap);
        Assert.AreEqual(expected.Count, actual.Count);
        for (var i = 0; i < expected.Count; i++)
            CollectionAssert.AreEqual(expected[i].DenseValues().ToArray(), actual[i].DenseValues().ToArray(), $"image {i}");
        Assert.IsTrue(expected.Any(m => m.DenseValues().Any(v => v != 0)), "thresholds 0 keep segments");

        using var predictor = new Mask2FormerPredictor(new Mask2FormerPredictorOptions { ModelPath = SmallModel, GpuDeviceId = 0, FallbackToCpu = true });
        StringAssert.Contains(predictor.GpuFallbackReason, "CPU-only build");
    }

    [TestMethod]
    public void AGpuWithoutFallbackIsRefusedNamingTheCudaPackage()
    {
        var ml = new MLContext(seed: 1);
        var e = Assert.ThrowsExactly<NotSupportedException>(() => ml.Transforms.SegmentPanoptic(Options(0, fallback: false)));
        StringAssert.Contains(e.Message, "GPU 0");
        StringAssert.Contains(e.Message, "Microsoft.ML.OnnxRuntime.Gpu.Linux 1.32.0");
        StringAssert.Contains(e.Message, "FallbackToCpu");
        e = Assert.ThrowsExactly<NotSupportedException>(() => new Mask2FormerPredictor(new Mask2FormerPredictorOptions { ModelPath = SmallModel, GpuDeviceId = 0 }));
        StringAssert.Contains(e.Message, "CPU-only build");
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Transforms.SegmentPanoptic(Options(-1, fallback: true)));
    }

    [TestMethod]
    public void SegmentCommandTakesGpuAndFallsBackOnlyWhenAsked()
    {
        var folder = TestPaths.NewTempFolder();
        var images = Path.Combine(folder, "images");
        Directory.CreateDirectory(images);
        WriteImageSet(images);
        string[] Args(string name) => ["segment", "--model", SmallModel, "--images", images, "--out-json", Path.Combine(folder, name + ".json"),
            "--out-folder", Path.Combine(folder, name), "--input-size", "96x160"];

        var (code, _, err) = Run([.. Args("strict"), "--gpu", "0"]);
        Assert.AreEqual(2, code, err);
        StringAssert.Contains(err, "m2f: error: GPU 0 was asked for");
        (code, _, err) = Run([.. Args("gpu"), "--gpu", "0", "--gpu-fallback"]);
        Assert.AreEqual(0, code, err);
        StringAssert.Contains(err, "m2f: warning: GPU 0 is not used");
        (code, _, err) = Run(Args("cpu"));
        Assert.AreEqual(0, code, err);
        Assert.AreEqual(File.ReadAllText(Path.Combine(folder, "cpu.json")), File.ReadAllText(Path.Combine(folder, "gpu.json")));
        foreach (var png in Directory.GetFiles(Path.Combine(folder, "cpu")))
            CollectionAssert.AreEqual(File.ReadAllBytes(png), File.ReadAllBytes(Path.Combine(folder, "gpu", Path.GetFileName(png))), png);
    }

    private static (int Code, string Out, string Err) Run(string[] args) => SegmentCommandTests.Run(args);
}
