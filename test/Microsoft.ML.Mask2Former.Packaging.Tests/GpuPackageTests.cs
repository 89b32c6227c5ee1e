using System.Text.RegularExpressions;

namespace Microsoft.ML.Mask2Former.Packaging.Tests;

/// <summary>
/// The README's GPU switch, as an application makes it (Consumers/GpuApp: Microsoft.ML.OnnxRuntime.Gpu.Linux
/// 1.32.0 in place of the CPU package), on this machine without CUDA: the CUDA provider cannot load,
/// so GpuDeviceId = 0 either falls back to the CPU with a warning and exactly the CPU package's
/// results, or is refused naming the missing CUDA 13 / cuDNN 9 libraries.
/// </summary>
[TestClass]
public sealed partial class GpuPackageTests
{
    private static readonly Lazy<Consumers.BuiltApp> GpuApp =
        new(() => Consumers.Build("GpuApp", Path.Combine("bin", "Release", "net10.0", "GpuApp")), LazyThreadSafetyMode.ExecutionAndPublication);

    public TestContext TestContext { get; set; } = null!;

    [GeneratedRegex(@"^(PQ=.*|maps=.*)$", RegexOptions.Multiline)]
    private static partial Regex ResultLines();

    private static string[] Results(ProcessResult run) => ResultLines().Matches(run.Output).Select(m => m.Value.Trim()).ToArray();

    private static string[] Pq(params string[] options)
    {
        var val = Path.Combine(Consumers.Data, "val");
        return [Path.Combine(val, "panoptic.json"), Path.Combine(val, "panoptic"), Path.Combine(val, "images"), Consumers.Model, .. options];
    }

    [TestMethod]
    public void TheCudaBuildReplacesTheCpuBuildWithoutWarnings()
    {
        var app = GpuApp.Value;
        CollectionAssert.AreEqual(Array.Empty<string>(), app.Build.Warnings, app.Build.Output);
        var output = Path.GetDirectoryName(app.Executable)!;
        var native = Path.Combine(output, "runtimes", "linux-x64", "native");
        Assert.IsTrue(File.Exists(Path.Combine(native, "libonnxruntime_providers_cuda.so")), "the CUDA provider is in the output");
        var cpuBuild = Path.Combine(PackedFeed.UserPackages, "microsoft.ml.onnxruntime", "1.32.0", "runtimes", "linux-x64", "native", "libonnxruntime.so");
        if (File.Exists(cpuBuild))
            CollectionAssert.AreNotEqual(File.ReadAllBytes(cpuBuild), File.ReadAllBytes(Path.Combine(native, "libonnxruntime.so")), "the CPU package's libonnxruntime.so was copied instead of the CUDA build's");
    }

    [TestMethod]
    public void WithoutCudaAGpuFallsBackToTheCpuWithAWarningAndIdenticalResults()
    {
        var fallback = ProcessRunner.Run(GpuApp.Value.Executable, PackedFeed.Get().Root, ["pq", .. Pq("--gpu", "0", "--fallback")], TimeSpan.FromMinutes(3)).Succeeded();
        TestContext.WriteLine(fallback.Output);
        StringAssert.Contains(fallback.Output, "warning: GPU 0 is not used");
        StringAssert.Contains(fallback.Output, "CUDA 13 and cuDNN 9");
        var cpuPackage = Consumers.Run(Consumers.App.Executable, ["pq", .. Pq()]);
        var results = Results(fallback);
        Assert.AreEqual(2, results.Length, fallback.Output);
        CollectionAssert.AreEqual(Results(cpuPackage), results, "the same PQ and the same maps as the application on the CPU package");
    }

    [TestMethod]
    public void WithoutCudaAndWithoutFallbackTheErrorNamesTheMissingLibraries()
    {
        var refused = ProcessRunner.Run(GpuApp.Value.Executable, PackedFeed.Get().Root, ["pq", .. Pq("--gpu", "0")], TimeSpan.FromMinutes(3));
        TestContext.WriteLine(refused.Output);
        Assert.AreEqual(3, refused.ExitCode, refused.Output);
        StringAssert.Contains(refused.Output, "refused: GPU 0 was asked for");
        StringAssert.Contains(refused.Output, "it needs CUDA 13 and cuDNN 9 on the library path");
        StringAssert.Contains(refused.Output, "libcublasLt.so.13");
        StringAssert.Contains(refused.Output, "libcudnn.so.9");
        StringAssert.Contains(refused.Output, "Set FallbackToCpu");
    }
}
