using BenchmarkDotNet.Attributes;

namespace Mask2Former.Benchmarks;

/// <summary>
/// What the evaluator benchmarks share: the generated 2,000-image set (made once, cached), the
/// thread counts, and the process's peak resident memory printed after each case.
/// </summary>
public abstract class EvaluationBenchmarkBase
{
    /// <summary>The generated set.</summary>
    private protected EvaluationSet Set { get; private set; } = null!;

    [Params(2000)]
    public int Images { get; set; }

    [Params(1, 2)]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        Set = EvaluationSet.Ensure(Path.Combine(RepoPaths.DataCache, $"eval-{Images}"), Images);
        GC.Collect();
        PeakMemory.Reset();
    }

    /// <summary>Peak resident memory over the measured runs (the whole process, since setup).</summary>
    [GlobalCleanup]
    public void Cleanup() =>
        Console.WriteLine($"// {GetType().Name}, {Images} images, {Threads} thread(s): peak resident memory {PeakMemory.ResidentBytes() / 1e6:F0} MB (process, since setup)");
}
