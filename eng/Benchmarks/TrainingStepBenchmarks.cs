using BenchmarkDotNet.Attributes;
using Microsoft.ML.Mask2Former.Synthetic;
using Microsoft.ML.Mask2Former.Training;
using Microsoft.ML.Mask2Former.Training.Data;
using Microsoft.ML.Mask2Former.Training.Losses;
using Microsoft.ML.Mask2Former.Training.Modeling;
using Microsoft.ML.Mask2Former.Training.Optimization;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Mask2Former.Benchmarks;

/// <summary>
/// One training step on CPU with 2 threads (forward, set loss with deep supervision and 12,544
/// points, backward, full-model clipping, AdamW), random weights, a large-scale-jitter batch of
/// synthetic shapes: the small reference config at 128×128 batch 2 and Swin-T (133 classes) at
/// 384×384 batch 1. <see cref="LoadBatch"/> decodes and augments one batch on the loader's 2
/// threads, for the data share of a step (the trainer loads it while the previous step runs).
/// <c>OMP_WAIT_POLICY=PASSIVE dotnet run -c Release --project eng/Benchmarks -- --filter '*TrainingStep*'</c>.
/// </summary>
[Config(typeof(InProcessMonitoring))]
public class TrainingStepBenchmarks
{
    private Mask2FormerForUniversalSegmentation _network = null!;
    private Mask2FormerCriterion _criterion = null!;
    private AdamW _optimizer = null!;
    private Parameter[] _parameters = null!;
    private TrainingBatch _batch = null!;
    private TrainingDataLoader _loader = null!;
    private long _cursor;

    /// <summary>Model, input size and batch.</summary>
    [Params("small-128-b2", "swin-t-384-b1")]
    public string Case { get; set; } = "small-128-b2";

    [GlobalSetup]
    public void Setup()
    {
        set_num_threads(2);
        manual_seed(0);
        var small = Case.StartsWith("small", StringComparison.Ordinal);
        var size = small ? 128 : 384;
        var batchSize = small ? 2 : 1;
        var folder = Path.Combine(RepoPaths.DataCache, $"training-{size}");
        if (!File.Exists(Path.Combine(folder, "panoptic.json")))
            SyntheticPanopticDataset.Generate(folder, new SyntheticPanopticOptions { ImageCount = 16, Width = size, Height = size, Seed = 3 });
        var set = CocoPanopticTrainingSet.Open(folder);
        var config = small ? Presets.Small(set.Labels.Count) : Presets.SwinTiny(133);
        config = Mask2FormerTrainer.WithDataCategories(config, set);
        _network = new Mask2FormerForUniversalSegmentation(config);
        _network.train();
        _criterion = new Mask2FormerCriterion(config.NumLabels);
        var groups = ParameterGroups.Build(_network, 1e-4, 0.05, 0.1);
        _optimizer = ParameterGroups.CreateAdamW(groups, 0.9, 0.999, 1e-8);
        _parameters = groups.SelectMany(g => g.Parameters.Select(p => p.Parameter)).ToArray();
        var augmentation = new TrainingAugmentation
        {
            Mode = ImageResizeMode.LargeScaleJitter,
            Size = size,
            PixelMean = [123.675, 116.28, 103.53],
            PixelStd = [58.395, 57.12, 57.375],
        };
        _loader = new TrainingDataLoader(set, augmentation, batchSize, seed: 0, threads: 2, startCursor: 0);
        _batch = TrainingBatch.Create(_loader.Next().Examples);
        PeakMemory.Reset();
    }

    [Benchmark]
    public double TrainStep()
    {
        // As the trainer runs a step: inside a no-GC region (see NoCollectionRegion).
        using var region = Microsoft.ML.Mask2Former.Training.Runtime.NoCollectionRegion.Enter();
        using var scope = NewDisposeScope();
        _optimizer.zero_grad();
        using var output = _network.forward(_batch.PixelValues);
        using var loss = _criterion.Compute(output, _batch.Targets);
        loss.Total.backward();
        var norm = TorchSharp.torch.nn.utils.clip_grad_norm_(_parameters, 0.01);
        _optimizer.step();
        return norm;
    }

    [Benchmark]
    public int LoadBatch()
    {
        var batch = _loader.LoadFrom(_cursor);
        _cursor = batch.EndCursor;
        return batch.Examples.Count;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        Console.WriteLine($"// {Case}: peak resident memory {PeakMemory.ResidentBytes() / 1e6:F0} MB (process, since setup)");
        _loader.Dispose();
        _batch.Dispose();
        _optimizer.Dispose();
        _network.Dispose();
    }
}
