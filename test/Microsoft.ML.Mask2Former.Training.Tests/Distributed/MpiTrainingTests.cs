using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.ML.Mask2Former.Formats;
using Microsoft.ML.Mask2Former.Synthetic;
using Microsoft.ML.Mask2Former.Training.Checkpoints;
using Microsoft.ML.Mask2Former.Training.Modeling;
using Microsoft.ML.Mask2Former.Training.Tests.Training;
using static TorchSharp.torch;

namespace Microsoft.ML.Mask2Former.Training.Tests.Distributed;

/// <summary>
/// <c>m2f train</c> under Open MPI's <c>mpirun -np 2</c>, as CI runs it: two ranks with batch 2
/// end with the weights of one process with batch 4 (within 1e-5) and log its losses, and resume
/// that process's checkpoint to its final weights (within 1e-5); a rank
/// killed mid-run fails the job at once (non-zero exit, Open MPI's message naming the rank, no
/// process left waiting) and <c>--resume</c> continues from the last checkpoint to exactly the
/// weights of the uninterrupted run. The data mix two image shapes (so ranks must agree on the
/// padded size) and hold one unreadable image (so ranks must agree on what to skip).
/// </summary>
/// <remarks>
/// The network is the tests' tiny one with 8 GroupNorm groups of 4 channels in the pixel decoder
/// (the recipe's 32 groups of 8 at width 256) instead of 32 groups of 1: with one channel per group
/// the bias of the 1×1 projection before it is exactly cancelled by the normalisation, its true
/// gradient is zero, and AdamW turns the float rounding noise of that zero (which differs with the
/// order of additions) into steps of about the learning rate: 1.2e-4 apart after 20 steps, on a
/// parameter that has no effect on the output. With 4 channels per group every weight agrees
/// within 1.2e-7.
/// </remarks>
/// <remarks>
/// Needs <c>mpirun</c> (Open MPI) on the PATH: <c>.ci/run</c> installs <c>openmpi-bin</c> and sets
/// <c>M2F_REQUIRE_MPI=1</c>, which turns a missing <c>mpirun</c> into a failure; elsewhere these
/// tests are inconclusive without it.
/// </remarks>
[TestClass]
[DoNotParallelize]
public sealed class MpiTrainingTests
{
    private const int Steps = 20;
    private const int CheckpointEvery = 5;
    private const double Tolerance = 1e-5;
    private static readonly TimeSpan RunTimeout = TimeSpan.FromSeconds(300);
    private static readonly TimeSpan AbortTimeout = TimeSpan.FromSeconds(60);
    private static readonly Lock Gate = new();
    private static (string Data, string Config, string Uninterrupted)? _shared;
    private static string? _single;

    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    [Timeout(600_000, CooperativeCancellation = true)]
    public void TwoRanksTrainLikeOneProcessWithTheCombinedBatch()
    {
        var (_, _, distributed) = Shared();
        var single = Single();

        using var expected = Mask2FormerForUniversalSegmentation.FromPretrained(single);
        using var actual = Mask2FormerForUniversalSegmentation.FromPretrained(distributed);
        var (largest, where) = LargestDifference(expected, actual);
        TestContext.WriteLine($"largest weight difference after {Steps} steps: {largest:G3} ({where})");
        Assert.IsLessThanOrEqualTo(Tolerance, largest, $"{where} differs by {largest}");

        // Rank 0 logs the combined batch's losses: the sums of the ranks' shares.
        var a = Losses(single);
        var b = Losses(distributed);
        CollectionAssert.AreEqual(a.Keys.ToList(), b.Keys.ToList(), "the same steps are logged");
        foreach (var (step, loss) in a)
        {
            TestContext.WriteLine($"step {step}: loss {loss:F6} (one process) {b[step]:F6} (two ranks)");
            Assert.AreEqual(loss, b[step], 1e-4 * Math.Abs(loss), $"the loss at step {step}");
        }
        var log = File.ReadAllText(Path.Combine(distributed, "log.jsonl"));
        StringAssert.Contains(log, "\"event\":\"data_parallel\",\"ranks\":2,\"batch_per_rank\":2");
        StringAssert.Contains(log, "skipping image");
    }

    [TestMethod]
    [Timeout(600_000, CooperativeCancellation = true)]
    public void TwoRanksResumeTheCheckpointOfOneProcessWithTheCombinedBatch()
    {
        var (data, config, _) = Shared();
        var single = Single();
        // A copy of the one-process run as it was at its step-15 checkpoint.
        var output = Path.Combine(TestPaths.NewTempFolder(), "resplit");
        var checkpoints = Path.Combine(output, TrainingCheckpoint.CheckpointsFolder);
        var from = $"step-{Steps - CheckpointEvery:D8}";
        Directory.CreateDirectory(checkpoints);
        foreach (var file in Directory.GetFiles(Path.Combine(single, TrainingCheckpoint.CheckpointsFolder, from)))
        {
            Directory.CreateDirectory(Path.Combine(checkpoints, from));
            File.Copy(file, Path.Combine(checkpoints, from, Path.GetFileName(file)));
        }
        File.WriteAllText(Path.Combine(checkpoints, TrainingCheckpoint.LatestFile), from);

        RunToEnd("mpirun", [.. MpiArguments(), .. Train(data, config, output, batch: 2), "--resume"], $"two ranks of batch 2 resuming one process of batch 4 at {from}");
        using var expected = Mask2FormerForUniversalSegmentation.FromPretrained(single);
        using var actual = Mask2FormerForUniversalSegmentation.FromPretrained(output);
        var (largest, where) = LargestDifference(expected, actual);
        TestContext.WriteLine($"largest weight difference at step {Steps}: {largest:G3} ({where})");
        Assert.IsLessThanOrEqualTo(Tolerance, largest, $"{where} differs by {largest}");
    }

    [TestMethod]
    [Timeout(600_000, CooperativeCancellation = true)]
    public void KilledRankFailsTheJobAndResumeContinuesFromTheLastCheckpoint()
    {
        var (data, config, uninterrupted) = Shared();
        var output = Path.Combine(TestPaths.NewTempFolder(), "killed");
        var arguments = Train(data, config, output, batch: 2);
        var latest = Path.Combine(output, TrainingCheckpoint.CheckpointsFolder, TrainingCheckpoint.LatestFile);

        var log = new StringBuilder();
        var watch = Stopwatch.StartNew();
        using (var job = StartMpi(arguments, log))
        {
            int? victim = null;
            while (victim is null)
            {
                if (job.HasExited) Assert.Fail($"the job ended before a checkpoint was seen, so no rank was killed:\n{ChildProcess.Output(log)}");
                if (watch.Elapsed > RunTimeout) Assert.Fail($"no checkpoint in {RunTimeout}:\n{ChildProcess.Output(log)}");
                if (File.Exists(latest)) victim = RankProcess(output, rank: 1);
                Thread.Sleep(5);
            }
            Process.GetProcessById(victim.Value).Kill();
            var killedAt = watch.Elapsed;
            Assert.IsTrue(ChildProcess.WaitOrKill(job, AbortTimeout), $"mpirun did not end within {AbortTimeout} of a rank's death:\n{ChildProcess.Output(log)}");
            var text = ChildProcess.Output(log);
            TestContext.WriteLine($"killed rank 1 (pid {victim}) at {killedAt.TotalSeconds:F1} s; mpirun exited with {job.ExitCode} {(watch.Elapsed - killedAt).TotalSeconds:F1} s later:\n{text}");
            Assert.AreNotEqual(0, job.ExitCode, "the job fails");
            StringAssert.Contains(text, "rank 1", "Open MPI names the rank that died");
        }
        Thread.Sleep(500);
        Assert.IsNull(RankProcess(output, rank: 0), "no rank is left waiting for the dead one");

        var from = File.ReadAllText(latest).Trim();
        var fromStep = int.Parse(from["step-".Length..], CultureInfo.InvariantCulture);
        Assert.IsTrue(fromStep is >= CheckpointEvery and < Steps, $"killed mid-run (last checkpoint {from})");
        var resumed = RunToEnd("mpirun", [.. MpiArguments(), .. arguments, "--resume"], $"two ranks resumed from {from}");
        StringAssert.Contains(resumed, $"step {Steps}/{Steps}");
        var resumeEvents = File.ReadAllLines(Path.Combine(output, "log.jsonl")).Select(l => JsonNode.Parse(l)!).Where(n => (string?)n["event"] == "resume").ToList();
        Assert.HasCount(1, resumeEvents);
        Assert.AreEqual(fromStep, (long)resumeEvents[0]["step"]!);

        using var expected = Mask2FormerForUniversalSegmentation.FromPretrained(uninterrupted);
        using var actual = Mask2FormerForUniversalSegmentation.FromPretrained(output);
        ResumeTests.AssertIdentical(expected, actual);
    }

    [TestMethod]
    public void AnotherImplementationsLauncherIsRefusedByName()
    {
        // MPICH's and Intel MPI's Hydra set PMI_RANK / PMI_SIZE (and no OMPI_* variables).
        var log = new StringBuilder();
        var data = TestPaths.NewTempFolder();
        var output = Path.Combine(TestPaths.NewTempFolder(), "out");
        using var process = ChildProcess.StartCli(["train", "--data", data, "--out", output, "--steps", "1"], log,
            new Dictionary<string, string> { ["PMI_RANK"] = "0", ["PMI_SIZE"] = "2" });
        Assert.IsTrue(ChildProcess.WaitOrKill(process, RunTimeout), ChildProcess.Output(log));
        var text = ChildProcess.Output(log);
        Assert.AreEqual(2, process.ExitCode, text);
        StringAssert.Contains(text, "PMI_SIZE=2");
        StringAssert.Contains(text, "only Open MPI");
    }

    /// <summary>The data, the network configuration and the uninterrupted two-rank run both tests compare with (made once).</summary>
    private (string Data, string Config, string Uninterrupted) Shared()
    {
        lock (Gate)
        {
            if (_shared is { } shared) return shared;
            RequireMpirun();
            var root = TestPaths.NewTempFolder();
            var data = MixedShapes(Path.Combine(root, "data"));
            var config = Path.Combine(root, "tiny.json");
            File.WriteAllText(config, (TrainingFixtures.Tiny() with { PixelDecoderNormGroups = 8 }).ToJson());
            var output = Path.Combine(root, "two-ranks");
            var text = RunToEnd("mpirun", [.. MpiArguments(), .. Train(data, config, output, batch: 2)], "two ranks, batch 2 each");
            Assert.AreEqual(1, text.Split('\n').Count(l => l.Contains($"step {Steps}/{Steps}", StringComparison.Ordinal)), $"only rank 0 reports progress:\n{text}");
            _shared = (data, config, output);
            return _shared.Value;
        }
    }

    /// <summary>The one-process run with the combined batch (made once).</summary>
    private string Single()
    {
        lock (Gate)
        {
            if (_single is { } single) return single;
            var (data, config, _) = Shared();
            var output = Path.Combine(TestPaths.NewTempFolder(), "single");
            var text = RunToEnd(ChildProcess.DotnetHost(), [ChildProcess.Cli, .. Train(data, config, output, batch: 4)], "one process, batch 4");
            StringAssert.Contains(text, "skipping image", "the unreadable image is skipped");
            _single = output;
            return output;
        }
    }

    private static string[] Train(string data, string config, string output, int batch) =>
    [
        "train", "--data", data, "--config", config, "--steps", Steps.ToString(CultureInfo.InvariantCulture), "--batch", batch.ToString(CultureInfo.InvariantCulture),
        "--size", "64", "--resize", "resize", "--points", "256", "--seed", "5", "--checkpoint-every", CheckpointEvery.ToString(CultureInfo.InvariantCulture),
        "--report-every", "5", "--out", output,
    ];

    /// <summary>
    /// Two ranks on one machine: as root (CI) Open MPI asks for explicit consent; more ranks than
    /// free cores are allowed and not pinned (the machine is shared); the test's thread settings
    /// are passed on.
    /// </summary>
    private static string[] MpiArguments() =>
        ["-np", "2", "--oversubscribe", "--bind-to", "none", "-x", "OMP_NUM_THREADS", "-x", "OMP_WAIT_POLICY", ChildProcess.DotnetHost(), ChildProcess.Cli];

    private static Process StartMpi(string[] arguments, StringBuilder log) =>
        ChildProcess.Start("mpirun", [.. MpiArguments(), .. arguments], log, MpiEnvironment);

    private static readonly Dictionary<string, string> MpiEnvironment = new()
    {
        ["OMPI_ALLOW_RUN_AS_ROOT"] = "1",
        ["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1",
    };

    private string RunToEnd(string program, string[] arguments, string what)
    {
        var log = new StringBuilder();
        var watch = Stopwatch.StartNew();
        using var process = ChildProcess.Start(program, arguments, log, program == "mpirun" ? MpiEnvironment : null);
        var ended = ChildProcess.WaitOrKill(process, RunTimeout);
        var text = ChildProcess.Output(log);
        Assert.IsTrue(ended, $"{what} did not end in {RunTimeout}:\n{text}");
        Assert.AreEqual(0, process.ExitCode, $"{what} failed:\n{text}");
        TestContext.WriteLine($"{what}: {watch.Elapsed.TotalSeconds:F1} s");
        return text;
    }

    private static void RequireMpirun()
    {
        var found = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator).Any(d => d.Length > 0 && File.Exists(Path.Combine(d, "mpirun")));
        if (found) return;
        const string Message = "mpirun (Open MPI) is not on the PATH (Debian/Ubuntu: apt-get install openmpi-bin; .ci/run installs it)";
        if (Environment.GetEnvironmentVariable("M2F_REQUIRE_MPI") == "1") Assert.Fail(Message);
        Assert.Inconclusive(Message);
    }

    /// <summary>
    /// A COCO panoptic folder of 4 square (64×64) and 4 wide (64×32) images, one of them unreadable:
    /// a batch of wide images alone would be padded to 64×32, so ranks must pad to the combined batch's size.
    /// </summary>
    private static string MixedShapes(string folder)
    {
        var square = Path.Combine(folder, "..", "square");
        var wide = Path.Combine(folder, "..", "wide");
        var a = SyntheticPanopticDataset.Generate(square, new SyntheticPanopticOptions { ImageCount = 4, Width = 64, Height = 64, MaxThingsPerImage = 3, Seed = 21 });
        var b = SyntheticPanopticDataset.Generate(wide, new SyntheticPanopticOptions { ImageCount = 4, Width = 64, Height = 32, MaxThingsPerImage = 2, Seed = 22 });
        Directory.CreateDirectory(Path.Combine(folder, SyntheticPanopticDataset.ImagesFolder));
        Directory.CreateDirectory(Path.Combine(folder, SyntheticPanopticDataset.SegmentMapsFolder));
        var images = new List<CocoImage>();
        var annotations = new List<CocoPanopticAnnotation>();
        foreach (var (set, source, prefix, offset) in new[] { (a, square, "square-", 0), (b, wide, "wide-", 100) })
        {
            foreach (var image in set.Images)
            {
                var annotation = set.Annotations.Single(n => n.ImageId == image.Id);
                var id = (int.Parse(image.Id, CultureInfo.InvariantCulture) + offset).ToString(CultureInfo.InvariantCulture);
                File.Copy(Path.Combine(source, SyntheticPanopticDataset.ImagesFolder, image.FileName), Path.Combine(folder, SyntheticPanopticDataset.ImagesFolder, prefix + image.FileName));
                File.Copy(Path.Combine(source, SyntheticPanopticDataset.SegmentMapsFolder, annotation.FileName), Path.Combine(folder, SyntheticPanopticDataset.SegmentMapsFolder, prefix + annotation.FileName));
                images.Add(image with { Id = id, FileName = prefix + image.FileName });
                annotations.Add(annotation with { ImageId = id, FileName = prefix + annotation.FileName });
            }
        }
        new CocoPanopticDataset(images, annotations, a.Categories).Save(Path.Combine(folder, SyntheticPanopticDataset.AnnotationsFile));
        File.WriteAllText(Path.Combine(folder, SyntheticPanopticDataset.ImagesFolder, images[1].FileName), "not an image");
        return folder;
    }

    /// <summary>The process id of rank <paramref name="rank"/> of the job writing to <paramref name="output"/> (from /proc), or null.</summary>
    private static int? RankProcess(string output, int rank)
    {
        foreach (var dir in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
            try
            {
                var command = File.ReadAllText(Path.Combine(dir, "cmdline")).Split('\0');
                if (!command.Contains(output) || !command.Any(c => c.EndsWith("m2f.dll", StringComparison.Ordinal))) continue;
                if (File.ReadAllText(Path.Combine(dir, "environ")).Split('\0').Contains($"OMPI_COMM_WORLD_RANK={rank}")) return pid;
            }
            catch (IOException)
            {
                // The process ended while being read.
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
        return null;
    }

    /// <summary>The loss logged at each reported step.</summary>
    private static SortedDictionary<long, double> Losses(string output)
    {
        var losses = new SortedDictionary<long, double>();
        foreach (var line in File.ReadAllLines(Path.Combine(output, "log.jsonl")))
        {
            var node = JsonNode.Parse(line)!;
            if (node["step"] is { } step && node["loss"] is { } loss) losses[(long)step] = (double)loss;
        }
        return losses;
    }

    private static (double Largest, string Where) LargestDifference(Mask2FormerForUniversalSegmentation expected, Mask2FormerForUniversalSegmentation actual)
    {
        var a = ModuleCheckpoint.StateDict(expected);
        var b = ModuleCheckpoint.StateDict(actual);
        CollectionAssert.AreEquivalent(a.Keys.ToList(), b.Keys.ToList());
        var (largest, where) = (0.0, "");
        foreach (var (name, t) in a)
        {
            using var scope = NewDisposeScope();
            var difference = (t.to(ScalarType.Float64) - b[name].to(ScalarType.Float64)).abs().max().item<double>();
            if (difference > largest || double.IsNaN(difference)) (largest, where) = (double.IsNaN(difference) ? double.PositiveInfinity : difference, name);
        }
        return (largest, where);
    }
}
