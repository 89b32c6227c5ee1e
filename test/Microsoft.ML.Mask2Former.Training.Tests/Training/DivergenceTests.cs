using Microsoft.ML.Mask2Former.Training.Modeling;

namespace Microsoft.ML.Mask2Former.Training.Tests.Training;

[TestClass]
[DoNotParallelize]
public sealed class DivergenceTests
{
    [TestMethod]
    public void NaNLossStopsWithAClearErrorAndKeepsTheLastGoodCheckpoint()
    {
        var data = TrainingFixtures.Synthetic(images: 2, size: 32, maxThings: 1, seed: 1);
        var output = TestPaths.NewTempFolder();
        var options = TrainingFixtures.Fast(steps: 10, size: 32);
        options.OutputFolder = output;
        options.CheckpointInterval = 2;
        var trainer = new Mask2FormerTrainer(options) { PoisonInput = step => step == 3 };
        var e = Assert.ThrowsExactly<TrainingDivergedException>(() => trainer.Fit(data));
        Assert.AreEqual(3, e.Step);
        StringAssert.Contains(e.Message, "Training diverged at step 3: the network output holds NaN");
        StringAssert.Contains(e.Message, "step-00000002");
        Assert.AreEqual("step-00000002", File.ReadAllText(Path.Combine(output, "checkpoints", "latest")));
        using var kept = Mask2FormerForUniversalSegmentation.FromPretrained(output);
        Assert.IsTrue(kept.parameters().All(p => p.isfinite().all().item<bool>()));
        StringAssert.Contains(File.ReadAllText(Path.Combine(output, "log.jsonl")), "\"event\":\"diverged\"");
    }
}
