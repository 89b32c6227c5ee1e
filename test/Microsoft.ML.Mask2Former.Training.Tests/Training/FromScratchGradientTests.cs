using Microsoft.ML.Mask2Former.Synthetic;
using Microsoft.ML.Mask2Former.Training.Data;
using Microsoft.ML.Mask2Former.Training.Losses;
using Microsoft.ML.Mask2Former.Training.Modeling;
using static TorchSharp.torch;

namespace Microsoft.ML.Mask2Former.Training.Tests.Training;

/// <summary>
/// A network trained from scratch on zero-padded batches (large-scale jitter pads) keeps sane
/// gradients. With the reference's zero patch-embedding bias every padded pixel embedded to the
/// zero vector and each LayerNorm multiplied its gradient by 1/sqrt(eps): 2.6e9 at the patch
/// embedding of the small config, infinite for Swin-T (which then trained to NaN).
/// </summary>
[TestClass]
public sealed class FromScratchGradientTests
{
    [TestMethod]
    public void PaddedBatchesGiveFiniteModerateGradients()
    {
        manual_seed(0);
        var folder = TestPaths.NewTempFolder();
        SyntheticPanopticDataset.Generate(folder, new SyntheticPanopticOptions { ImageCount = 2, Width = 96, Height = 96, Seed = 3 });
        var set = CocoPanopticTrainingSet.Open(folder);
        var config = Mask2FormerTrainer.WithDataCategories(Presets.Small(), set);
        using var network = new Mask2FormerForUniversalSegmentation(config);
        network.train();
        // Scale 0.5: the image fills a quarter of the 128×128 input, the rest is zero padding.
        var augmentation = new TrainingAugmentation
        {
            Mode = ImageResizeMode.LargeScaleJitter, Size = 128, MinScale = 0.5, MaxScale = 0.5,
            PixelMean = [123.675, 116.28, 103.53], PixelStd = [58.395, 57.12, 57.375],
        };
        var loader = new TrainingDataLoader(set, augmentation, 1, seed: 0, threads: 1, startCursor: 0);
        var batch = TrainingBatch.Create(loader.Next().Examples);
        using var scope = NewDisposeScope();
        using var output = network.forward(batch.PixelValues);
        using var loss = new Mask2FormerCriterion(config.NumLabels).Compute(output, batch.Targets);
        loss.Total.backward();
        var largest = network.named_parameters().Where(p => p.parameter.grad is not null)
            .Select(p => (p.name, value: p.parameter.grad!.abs().max().item<float>())).MaxBy(p => p.value);
        Assert.IsTrue(float.IsFinite(largest.value), $"{largest.name}: non-finite gradient");
        Assert.IsLessThan(1e4f, largest.value, $"largest gradient {largest.value:E2} at {largest.name}");
    }
}
