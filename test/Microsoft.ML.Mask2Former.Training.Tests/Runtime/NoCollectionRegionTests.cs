using System.Runtime;
using Microsoft.ML.Mask2Former.Training.Runtime;
using TorchSharp;

namespace Microsoft.ML.Mask2Former.Training.Tests.Runtime;

/// <summary>
/// The guard against TorchSharp 0.107's early finalization of temporary scalars: no collection (so
/// no finalizer) runs inside a region even while another thread allocates, regions do not nest,
/// and tensor arithmetic under concurrent allocation completes inside one.
/// </summary>
[TestClass]
[DoNotParallelize]
public sealed class NoCollectionRegionTests
{
    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    public void NoCollectionRunsWhileAnotherThreadAllocates()
    {
        using (var region = NoCollectionRegion.Enter())
        {
            Assert.IsTrue(region.Started, "a region starts when none is active");
            var before = GC.CollectionCount(0);
            // 64 MiB in 1 KiB pieces from another thread: far beyond a gen-0 budget.
            // Kept in a ring so that the arrays escape (the JIT may put non-escaping arrays on the stack).
            var ring = new object[256];
            var worker = new Thread(() =>
            {
                for (var i = 0; i < 65536; i++) ring[i & 255] = new byte[1024];
            });
            worker.Start();
            worker.Join();
            Assert.AreEqual(before, GC.CollectionCount(0), "no collection inside the region");
            Assert.AreEqual(GCLatencyMode.NoGCRegion, GCSettings.LatencyMode);
            using var nested = NoCollectionRegion.Enter();
            Assert.IsFalse(nested.Started, "a nested region joins the outer one");
        }
        Assert.AreNotEqual(GCLatencyMode.NoGCRegion, GCSettings.LatencyMode, "the region ends with its owner");
    }

    [TestMethod]
    public void TensorArithmeticCompletesUnderConcurrentAllocation()
    {
        // The pattern that failed during training: a + b (TorchSharp creates alpha = 1 as a
        // temporary Scalar) while the data loader allocates on another thread.
        using var a = torch.rand(64, 64);
        using var b = torch.rand(64, 64);
        var interruptedBefore = NoCollectionRegion.Interrupted;
        using (var region = NoCollectionRegion.Enter())
        {
            Assert.IsTrue(region.Started);
            var collections = GC.CollectionCount(0);
            using var stop = new CancellationTokenSource();
            long allocated = 0;
            var ring = new object[256];
            var worker = Task.Run(() =>
            {
                // Up to 128 MiB, as a loader would, well inside the region's budget.
                for (var i = 0; !stop.IsCancellationRequested && allocated < 128L << 20; i++)
                {
                    ring[i & 255] = new byte[4096];
                    allocated += 4096;
                }
            });
            for (var i = 0; i < 20_000; i++)
            {
                using var c = a + b;
                using var d = c * 0.5;
            }
            stop.Cancel();
            worker.Wait();
            TestContext.WriteLine($"{allocated >> 20} MiB allocated concurrently");
            Assert.AreEqual(collections, GC.CollectionCount(0), "no collection, so no finalizer, during the arithmetic");
        }
        Assert.AreEqual(interruptedBefore, NoCollectionRegion.Interrupted, "the region was not cut short");
    }
}
