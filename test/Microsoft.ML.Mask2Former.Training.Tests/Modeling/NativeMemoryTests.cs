using System.Diagnostics;
using Microsoft.ML.Mask2Former.Training.Modeling;
using static TorchSharp.torch;

namespace Microsoft.ML.Mask2Former.Training.Tests.Modeling;

/// <summary>Forward passes release all their native memory: no tensor outlives its output, resident memory stays flat.</summary>
/// <remarks>Not parallelised: <c>Tensor.TotalCount</c> and the resident size are the whole process's.</remarks>
[TestClass]
[DoNotParallelize]
public sealed class NativeMemoryTests
{
    public TestContext TestContext { get; set; } = null!;

    private static long ResidentBytes()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        using var process = Process.GetCurrentProcess();
        return process.WorkingSet64;
    }

    [TestMethod]
    public void TwoHundredForwardsLeaveResidentMemoryFlat()
    {
        var folder = TestPaths.NewTempFolder();
        File.Copy(ReferenceData.ConfigFile, Path.Combine(folder, "config.json"));
        File.Copy(ReferenceData.ModelFile, Path.Combine(folder, "model.safetensors"));
        using var network = Mask2FormerForUniversalSegmentation.FromPretrained(folder);
        using var input = ReferenceData.Io("input.A.pixel_values");
        using var noGrad = no_grad();

        void Forward()
        {
            using var output = network.forward(input);
            _ = output.ClassQueriesLogits.sum().item<float>();
        }
        for (var i = 0; i < 20; i++) Forward();
        var before = ResidentBytes();
        var liveTensors = Tensor.TotalCount;
        var samples = new List<long>();
        for (var i = 1; i <= 200; i++)
        {
            Forward();
            if (i % 50 == 0) samples.Add(ResidentBytes());
        }
        var after = samples[^1];
        TestContext.WriteLine($"resident before {before / 1e6:F1} MB, every 50 forwards {string.Join(", ", samples.Select(s => (s / 1e6).ToString("F1")))} MB; live tensors {liveTensors} -> {Tensor.TotalCount}");
        Assert.AreEqual(liveTensors, Tensor.TotalCount, "tensors leaked out of forward");
        // The allocator settles during the first forwards; from then on memory must not grow with the number of forwards.
        Assert.IsLessThan(10_000_000L, after - samples[0], $"resident memory grew by {(after - samples[0]) / 1e6:F1} MB over the last 150 forwards");
        Assert.IsLessThan(40_000_000L, after - before, $"resident memory grew by {(after - before) / 1e6:F1} MB over 200 forwards");
    }

    [TestMethod]
    public void ForwardLeavesNoTensorBehindOnceItsOutputIsDisposed()
    {
        using var network = new Mask2FormerForUniversalSegmentation(Presets.Small());
        network.eval();
        using var input = randn(2, 3, 64, 64);
        using var noGrad = no_grad();
        network.forward(input).Dispose();
        // Tensor.TotalCount is the process's: finalizers of other tests' garbage would lower it
        // between the two readings. Run them now, and let no collection start until the end.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        using var noCollection = Microsoft.ML.Mask2Former.Training.Runtime.NoCollectionRegion.Enter();
        var live = Tensor.TotalCount;
        var output = network.forward(input);
        Assert.IsGreaterThan(live, Tensor.TotalCount, "the output holds tensors");
        output.Dispose();
        Assert.AreEqual(live, Tensor.TotalCount);
    }

    [TestMethod]
    public void ANetworkBuiltInsideADisposeScopeOutlivesIt()
    {
        Mask2FormerForUniversalSegmentation network;
        using (NewDisposeScope()) network = new Mask2FormerForUniversalSegmentation(Presets.Small());
        using (network)
        using (var input = randn(1, 3, 32, 32))
        using (var output = network.forward(input))
        {
            Assert.IsTrue(output.MasksQueriesLogits.isfinite().all().item<bool>());
            Assert.IsTrue(network.state_dict().Values.All(t => !t.IsInvalid));
        }
    }
}
