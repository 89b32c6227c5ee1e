using BenchmarkDotNet.Attributes;
using Microsoft.ML.Mask2Former.Evaluation;

namespace Mask2Former.Benchmarks;

/// <summary>
/// PQ over 2,000 generated 640×480 ground-truth / prediction PNG pairs, end to end (JSON parsing,
/// PNG decoding, matching). panopticapi takes ≈17 s for such a set on the 2-core reference machine.
/// The evaluator streams PNG rows, so peak memory stays near the runtime's own footprint.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(InProcessMonitoring))]
public class PanopticEvaluationBenchmarks : EvaluationBenchmarkBase
{
    [Benchmark]
    public double PanopticQuality() =>
        PanopticEvaluator.EvaluateFiles(Set.GtJson, Set.GtFolder, Set.PredJson, Set.PredFolder,
            new PanopticEvaluatorOptions { Threads = Threads }).PanopticQuality;
}
