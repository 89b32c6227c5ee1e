using BenchmarkDotNet.Attributes;
using Microsoft.ML.Mask2Former.Evaluation;

namespace Mask2Former.Benchmarks;

/// <summary>
/// COCO box and mask AP over the instance files of the 2,000-image generated set, end to end
/// (JSON parsing, RLE decoding, matching, accumulation, summary). pycocotools' COCOeval takes
/// ≈6 s for each on the 2-core reference machine.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(InProcessMonitoring))]
public class InstanceEvaluationBenchmarks : EvaluationBenchmarkBase
{
    [Benchmark]
    public double BoxAp() =>
        InstanceEvaluator.EvaluateFiles(Set.InstancesGtJson, Set.DetectionsBboxJson, InstanceIouType.BoundingBox,
            new InstanceEvaluatorOptions { Threads = Threads }).AveragePrecision;

    [Benchmark]
    public double MaskAp() =>
        InstanceEvaluator.EvaluateFiles(Set.InstancesGtJson, Set.DetectionsSegmJson, InstanceIouType.Segmentation,
            new InstanceEvaluatorOptions { Threads = Threads }).AveragePrecision;
}
