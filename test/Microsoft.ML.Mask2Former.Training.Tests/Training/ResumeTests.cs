using Microsoft.ML.Mask2Former.Training.Checkpoints;
using Microsoft.ML.Mask2Former.Training.Data;
using Microsoft.ML.Mask2Former.Training.Modeling;
using static TorchSharp.torch;

namespace Microsoft.ML.Mask2Former.Training.Tests.Training;

[TestClass]
[DoNotParallelize]
public sealed class ResumeTests
{
    public TestContext TestContext { get; set; } = null!;

    private static Mask2FormerTrainerOptions Options(string output)
    {
        // Jitter, flips and drop path: every random stream (data order, augmentation, points, drop path) must resume.
        var o = TrainingFixtures.Fast(steps: 6, size: 64);
        o.Config = TrainingFixtures.Tiny(dropPath: 0.2);
        o.ResizeMode = ImageResizeMode.LargeScaleJitter;
        o.MinScale = 0.5;
        o.MaxScale = 1.5;
        o.FlipProbability = 0.5;
        o.OutputFolder = output;
        o.LoaderThreads = 2;
        o.Schedule = Optimization.LearningRateScheduleKind.MultiStep;
        o.Milestones = [0.5];
        o.WarmupSteps = 2;
        o.WarmupFactor = 0.1;
        return o;
    }

    [TestMethod]
    public void InterruptedAndResumedRunEndsWithTheSameWeights()
    {
        var data = TrainingFixtures.Synthetic(images: 3, size: 64, maxThings: 3, seed: 2);
        var straightDir = TestPaths.NewTempFolder();
        using var straight = new Mask2FormerTrainer(Options(straightDir)).Fit(data).Network;

        var resumedDir = TestPaths.NewTempFolder();
        using (var cts = new CancellationTokenSource())
        {
            var first = new Mask2FormerTrainer(Options(resumedDir));
            Assert.ThrowsExactly<OperationCanceledException>(() => first.Fit(data, new SyncProgress(p =>
            {
                if (p.Step == 4) cts.Cancel();
            }), cts.Token));
        }
        Assert.AreEqual("step-00000004", File.ReadAllText(Path.Combine(resumedDir, "checkpoints", "latest")));
        var options = Options(resumedDir);
        options.Resume = true;
        var steps = new List<long>();
        var result = new Mask2FormerTrainer(options).Fit(data, new SyncProgress(p => steps.Add(p.Step)));
        using var resumed = result.Network;
        CollectionAssert.AreEqual(new long[] { 5, 6 }, steps);
        Assert.AreEqual(6, result.Steps);

        AssertIdentical(straight, resumed);
        // The output folder holds the final model, loadable by name.
        using var reloaded = Mask2FormerForUniversalSegmentation.FromPretrained(resumedDir);
        AssertIdentical(straight, reloaded);
        Assert.IsTrue(File.Exists(Path.Combine(resumedDir, "labels.json")));
        StringAssert.Contains(File.ReadAllText(Path.Combine(resumedDir, "log.jsonl")), "\"event\":\"resume\"");
    }

    [TestMethod]
    public void CheckpointWriteKilledHalfWayLeavesThePreviousOneUsable()
    {
        var data = TrainingFixtures.Synthetic(images: 3, size: 64, maxThings: 3, seed: 4);
        var straightDir = TestPaths.NewTempFolder();
        var straightOptions = Options(straightDir);
        straightOptions.CheckpointInterval = 2;
        using var straight = new Mask2FormerTrainer(straightOptions).Fit(data).Network;

        var dir = TestPaths.NewTempFolder();
        var options = Options(dir);
        options.CheckpointInterval = 2;
        try
        {
            // The write of step 4's checkpoint dies after its weights, before the optimizer state.
            TrainingCheckpoint.FileWritten = path =>
            {
                if (path.Contains("step-00000004", StringComparison.Ordinal) && path.EndsWith("model.safetensors", StringComparison.Ordinal))
                    throw new IOException("simulated crash while writing " + path);
            };
            var crash = Assert.ThrowsExactly<IOException>(() => new Mask2FormerTrainer(options).Fit(data));
            TestContext.WriteLine(crash.Message);
        }
        finally
        {
            TrainingCheckpoint.FileWritten = null;
        }
        var checkpoints = Path.Combine(dir, "checkpoints");
        Assert.AreEqual("step-00000002", File.ReadAllText(Path.Combine(checkpoints, "latest")));
        Assert.IsFalse(Directory.Exists(Path.Combine(checkpoints, "step-00000004")));
        Assert.IsEmpty(Directory.GetDirectories(checkpoints, ".step-00000004.*.tmp"), "a write that fails with an exception (a full disk) removes its temporary folder");
        using (var previous = new Mask2FormerForUniversalSegmentation(Mask2FormerConfig.Load(Path.Combine(checkpoints, "step-00000002", "config.json"))))
        {
            ModuleCheckpoint.Load(previous, Path.Combine(checkpoints, "step-00000002", "model.safetensors"));
        }

        // What a killed write leaves instead: its temporary folder, which the resumed run removes.
        var killed = Directory.CreateDirectory(Path.Combine(checkpoints, $".step-00000004.{Guid.NewGuid():N}.tmp")).FullName;
        File.WriteAllBytes(Path.Combine(killed, "model.safetensors"), new byte[1000]);
        options.Resume = true;
        using var resumed = new Mask2FormerTrainer(options).Fit(data).Network;
        AssertIdentical(straight, resumed);
        Assert.IsEmpty(Directory.GetDirectories(checkpoints, ".step-*.tmp"), "the resumed run removes the stale temporary folder");
    }

    internal static void AssertIdentical(nn.Module expected, nn.Module actual)
    {
        var a = ModuleCheckpoint.StateDict(expected);
        var b = ModuleCheckpoint.StateDict(actual);
        CollectionAssert.AreEquivalent(a.Keys.ToList(), b.Keys.ToList());
        foreach (var (name, t) in a)
        {
            using var x = t.contiguous();
            using var y = b[name].contiguous();
            Assert.IsTrue(x.bytes.SequenceEqual(y.bytes), $"{name} differs: max |Δ| = {(x.to(ScalarType.Float64) - y.to(ScalarType.Float64)).abs().max().item<double>()}");
        }
    }
}
