using BenchmarkDotNet.Attributes;
using Microsoft.ML.Mask2Former.Evaluation;

namespace Mask2Former.Benchmarks;

/// <summary>
/// PQ over 2,000 generated 640×480 ground-truth / prediction PNG pairs, end to end (JSON parsing,
/// PNG decoding, matching). panopticapi takes ≈17 s for such a set on the 2-core reference machine.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(InProcessMonitoring))]
public class PanopticEvaluationBenchmarks
{
    private EvaluationSet _set = null!;

    [Params(2000)]
    public int Images { get; set; }

    [Params(1, 2)]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _set = EvaluationSet.Ensure(Path.Combine(RepoPaths.DataCache, $"eval-{Images}"), Images);
        GC.Collect();
        PeakMemory.Reset();
    }

    /// <summary>Peak resident memory over the measured runs: the evaluator streams PNG rows, so it stays near the runtime's own footprint.</summary>
    [GlobalCleanup]
    public void Cleanup() =>
        Console.WriteLine($"// {Images} images, {Threads} thread(s): peak resident memory {PeakMemory.ResidentBytes() / 1e6:F0} MB (process, since setup)");

    [Benchmark]
    public double PanopticQuality() =>
        PanopticEvaluator.EvaluateFiles(_set.GtJson, _set.GtFolder, _set.PredJson, _set.PredFolder,
            new PanopticEvaluatorOptions { Threads = Threads }).PanopticQuality;
}
