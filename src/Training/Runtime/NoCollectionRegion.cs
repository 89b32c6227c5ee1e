using System.Runtime;

namespace Microsoft.ML.Mask2Former.Training.Runtime;

/// <summary>
/// Keeps the .NET garbage collector out of a stretch of TorchSharp work (a training step, a forward
/// pass). TorchSharp 0.107 turns numbers into <c>Scalar</c> objects on the fly — <c>a + b</c> passes
/// alpha = 1, <c>x * 0.5</c> passes 0.5, AdamW's updates pass their coefficients — and hands the
/// scalar's native handle to libtorch without keeping the managed object alive. When another thread
/// (the data loader, a progress handler) allocates and triggers a collection during that native
/// call, the finalizer can free the scalar while libtorch still reads it: "Expected false to be true
/// … toFloat", or a crash. Inside a no-GC region no collection runs, so nothing is finalized early.
/// </summary>
/// <remarks>
/// The region is process-wide. It is entered only when none is active (nested or concurrent users
/// simply run inside the outer one) and ends on <see cref="Dispose"/>. If all threads together
/// allocate more than the budget, the runtime collects anyway and ends the region;
/// <see cref="Interrupted"/> counts those cases. Entering costs one collection between regions
/// (about 0.1 ms on a small heap), which also reclaims the previous step's garbage.
/// </remarks>
internal readonly struct NoCollectionRegion : IDisposable
{
    /// <summary>What all threads may allocate inside a region before the runtime collects anyway (512 MiB; nothing is committed up front).</summary>
    public const long DefaultBudget = 512L << 20;

    private static long _interrupted;
    private readonly bool _started;

    private NoCollectionRegion(bool started) => _started = started;

    /// <summary>How many regions ended early because the allocation budget ran out.</summary>
    public static long Interrupted => Interlocked.Read(ref _interrupted);

    /// <summary>Starts a region unless one is already active.</summary>
    public static NoCollectionRegion Enter(long budget = DefaultBudget)
    {
        if (GCSettings.LatencyMode == GCLatencyMode.NoGCRegion) return default;
        try
        {
            return new NoCollectionRegion(GC.TryStartNoGCRegion(budget));
        }
        catch (ArgumentOutOfRangeException)
        {
            // The budget is larger than this GC configuration allows: run unprotected rather than fail.
            return default;
        }
        catch (InvalidOperationException)
        {
            // Another thread started a region between the check and the call.
            return default;
        }
    }

    /// <summary>Whether this instance started the region that is (or was) active.</summary>
    public bool Started => _started;

    /// <summary>Ends the region this instance started.</summary>
    public void Dispose()
    {
        if (!_started) return;
        if (GCSettings.LatencyMode != GCLatencyMode.NoGCRegion)
        {
            Interlocked.Increment(ref _interrupted);
            return;
        }
        try
        {
            GC.EndNoGCRegion();
        }
        catch (InvalidOperationException)
        {
            // A collection happened after all (budget exhausted or induced).
            Interlocked.Increment(ref _interrupted);
        }
    }
}
