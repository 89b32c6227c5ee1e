using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.ML.Mask2Former.Synthetic;
using Microsoft.ML.Mask2Former.Training.Checkpoints;
using Microsoft.ML.Mask2Former.Training.Modeling;

namespace Microsoft.ML.Mask2Former.Training.Tests.Training;

/// <summary>
/// <c>m2f train</c> as a child process, killed (the whole process tree, no chance to clean up) while
/// it writes a checkpoint, then again while it copies the new weights to the top of its output
/// folder: each time the previous checkpoint stays current and loadable, and <c>m2f train
/// --resume</c> removes the leftovers and ends with exactly the weights of an uninterrupted run.
/// </summary>
[TestClass]
[DoNotParallelize]
public sealed class KilledCheckpointWriteTests
{
    private const int Steps = 12;
    private const int MaxKillAttempts = 5;
    // Each missed kill of the model copy still ends one step later: 8 fit in the 12 steps.
    private const int MaxCopyKillAttempts = 8;
    private static readonly TimeSpan RunTimeout = TimeSpan.FromSeconds(120);

    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    [Timeout(240_000, CooperativeCancellation = true)]
    public void TrainProcessKilledDuringACheckpointWriteResumesToTheSameWeights()
    {
        var root = TestPaths.NewTempFolder();
        var data = Path.Combine(root, "data");
        SyntheticPanopticDataset.Generate(data, new SyntheticPanopticOptions { ImageCount = 3, Width = 64, Height = 64, MaxThingsPerImage = 3, Seed = 8 });

        // The small preset: about 10 MB of weights and 20 MB of optimizer state, each written and
        // flushed to disk at every step, so a write lasts long enough to be caught in the act.
        string[] Arguments(string output) =>
        [
            "train", "--data", data, "--config", "small", "--steps", Steps.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--batch", "2", "--size", "64", "--points", "512", "--seed", "3", "--checkpoint-every", "1", "--report-every", "1", "--out", output,
        ];

        var straight = Path.Combine(root, "straight");
        RunToEnd(Arguments(straight), "uninterrupted run");

        // 1. Killed while the checkpoint of a step is written: its temporary folder stays behind, the previous one stays current.
        string? killed = null;
        for (var attempt = 1; attempt <= MaxKillAttempts && killed is null; attempt++)
        {
            var output = Path.Combine(root, $"killed-{attempt}");
            var checkpoints = Path.Combine(output, TrainingCheckpoint.CheckpointsFolder);
            var seen = KillWhen(output, Arguments(output), () =>
                File.Exists(Path.Combine(checkpoints, TrainingCheckpoint.LatestFile)) && Directory.GetDirectories(checkpoints, ".step-*.tmp") is [var temp, ..] ? temp : null);
            var left = Directory.Exists(checkpoints) ? Directory.GetDirectories(checkpoints, ".step-*.tmp") : [];
            TestContext.WriteLine($"checkpoint kill {attempt}: saw {(seen is null ? "no write in progress (the run ended)" : Path.GetFileName(seen))}; " +
                $"latest = {ReadLatest(checkpoints) ?? "(none)"}; temporary folders left: {(left.Length == 0 ? "none" : string.Join(", ", left.Select(Describe)))}");
            if (File.Exists(Path.Combine(checkpoints, TrainingCheckpoint.LatestFile))) AssertUsable(output);
            if (left.Length > 0) killed = output;
        }
        Assert.IsNotNull(killed, $"none of {MaxKillAttempts} kills landed while a checkpoint was being written");
        var killedCheckpoints = Path.Combine(killed, TrainingCheckpoint.CheckpointsFolder);

        // 2. Resumed, then killed while the new checkpoint's weights are copied to the top of the output
        //    folder: the temporary copy stays behind, the previous top-level model stays whole.
        var copyKilled = false;
        for (var attempt = 1; attempt <= MaxCopyKillAttempts && !copyKilled; attempt++)
        {
            var from = ReadLatest(killedCheckpoints);
            var seen = KillWhen(killed, [.. Arguments(killed), "--resume"], () => Directory.GetFiles(killed, $".{TrainingCheckpoint.ModelFile}.*.tmp") is [var temp, ..] ? temp : null);
            var left = Directory.GetFiles(killed, $".{TrainingCheckpoint.ModelFile}.*.tmp");
            TestContext.WriteLine($"model copy kill {attempt}: resumed from {from}, saw {(seen is null ? "no copy in progress (the run ended)" : Path.GetFileName(seen))}; " +
                $"latest = {ReadLatest(killedCheckpoints)}; temporary copies left: {(left.Length == 0 ? "none" : string.Join(", ", left.Select(f => $"{Path.GetFileName(f)} {new FileInfo(f).Length:N0} B")))}");
            Assert.IsNotNull(seen, "the resumed run ended before a kill");
            AssertUsable(killed);
            using (Mask2FormerForUniversalSegmentation.FromPretrained(killed)) { }
            copyKilled = left.Length > 0;
        }
        Assert.IsTrue(copyKilled, $"none of {MaxCopyKillAttempts} kills landed while the model was being copied");

        // 3. Resumed to the end: the leftovers are gone and the weights are those of the uninterrupted run.
        var resumedFrom = ReadLatest(killedCheckpoints);
        var resumed = RunToEnd([.. Arguments(killed), "--resume"], "resumed run");
        TestContext.WriteLine($"resumed from {resumedFrom} to step {Steps}");
        StringAssert.Contains(resumed, $"step {Steps}/{Steps}");
        Assert.AreEqual($"step-{Steps:D8}", ReadLatest(killedCheckpoints));
        Assert.IsEmpty(Directory.GetDirectories(killedCheckpoints, ".step-*.tmp"), "the resumed run removes the half-written checkpoint");
        Assert.IsEmpty(Directory.GetFiles(killed, "*.tmp", SearchOption.AllDirectories), "no temporary file of an interrupted write is left");
        var log = File.ReadAllLines(Path.Combine(killed, "log.jsonl"));
        foreach (var line in log) Assert.IsNotNull(JsonNode.Parse(line), "every line of log.jsonl is whole JSON");
        Assert.IsGreaterThanOrEqualTo(2, log.Count(l => l.Contains("\"event\":\"resume\"", StringComparison.Ordinal)));

        using var expected = Mask2FormerForUniversalSegmentation.FromPretrained(straight);
        using var actual = Mask2FormerForUniversalSegmentation.FromPretrained(killed);
        ResumeTests.AssertIdentical(expected, actual);
    }

    /// <summary>The checkpoint <c>latest</c> names is complete: strict weight load, parseable state of the named step.</summary>
    private static void AssertUsable(string output)
    {
        var checkpoints = Path.Combine(output, TrainingCheckpoint.CheckpointsFolder);
        var name = ReadLatest(checkpoints)!;
        var folder = Path.Combine(checkpoints, name);
        Assert.IsTrue(Directory.Exists(folder), $"latest names '{name}', which does not exist");
        foreach (var file in new[] { TrainingCheckpoint.ConfigFile, TrainingCheckpoint.ModelFile, TrainingCheckpoint.OptimizerFile, TrainingCheckpoint.RngFile, TrainingCheckpoint.StateFile })
            Assert.IsTrue(File.Exists(Path.Combine(folder, file)), $"{name} lacks {file}");
        using (var network = new Mask2FormerForUniversalSegmentation(Mask2FormerConfig.Load(Path.Combine(folder, TrainingCheckpoint.ConfigFile))))
        {
            var report = ModuleCheckpoint.Load(network, Path.Combine(folder, TrainingCheckpoint.ModelFile));
            Assert.IsEmpty(report.Missing);
        }
        var state = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, TrainingCheckpoint.StateFile)))!.AsObject();
        Assert.AreEqual(long.Parse(name["step-".Length..], System.Globalization.CultureInfo.InvariantCulture), (long)state["step"]!);
        Assert.AreEqual(Steps, (long)state["total_steps"]!);
    }

    private static string Describe(string folder) =>
        $"{Path.GetFileName(folder)} [{string.Join(", ", new DirectoryInfo(folder).GetFiles().Select(f => $"{f.Name} {f.Length:N0} B"))}]";

    private static string? ReadLatest(string checkpoints)
    {
        var path = Path.Combine(checkpoints, TrainingCheckpoint.LatestFile);
        return File.Exists(path) ? File.ReadAllText(path).Trim() : null;
    }

    /// <summary>
    /// Starts a run writing to <paramref name="output"/> and kills its process tree as soon as
    /// <paramref name="probe"/> finds a write in progress (returns its path). Returns that path, or
    /// null when the run ended first.
    /// </summary>
    private string? KillWhen(string output, string[] arguments, Func<string?> probe)
    {
        var log = new StringBuilder();
        Directory.CreateDirectory(output);
        using var process = Start(arguments, log);
        string? seen = null;
        var gate = new object();
        void Probe()
        {
            lock (gate)
            {
                if (seen is not null || process.HasExited) return;
                seen = probe();
                if (seen is not null) process.Kill(entireProcessTree: true);
            }
        }
        // Probed on every file or folder created in the output folder (inotify on Linux, on the
        // watcher's thread), and every millisecond besides: a write is caught in its first moments.
        using var watcher = new FileSystemWatcher(output) { IncludeSubdirectories = true, NotifyFilter = NotifyFilters.FileName | NotifyFilters.DirectoryName };
        watcher.Created += (_, _) => Probe();
        try
        {
            watcher.EnableRaisingEvents = true;
        }
        catch (IOException e)
        {
            // Out of inotify watches, say: polling alone still catches most writes.
            TestContext.WriteLine($"no file system watcher ({e.Message}); polling only");
        }
        var watch = Stopwatch.StartNew();
        try
        {
            while (!process.HasExited && Volatile.Read(ref seen) is null)
            {
                if (watch.Elapsed > RunTimeout) Assert.Fail($"no write seen in {RunTimeout}:\n{Output(log)}");
                Probe();
                Thread.Sleep(1);
            }
        }
        finally
        {
            watcher.EnableRaisingEvents = false;
            lock (gate)
            {
                if (!process.HasExited) process.Kill(entireProcessTree: true);
            }
            process.WaitForExit();
        }
        if (seen is null) Assert.AreEqual(0, process.ExitCode, Output(log));
        return seen;
    }

    /// <summary>Runs <c>m2f</c> to its end; returns its output, failing on a non-zero exit.</summary>
    private string RunToEnd(string[] arguments, string what)
    {
        var log = new StringBuilder();
        var watch = Stopwatch.StartNew();
        using var process = Start(arguments, log);
        if (!process.WaitForExit(RunTimeout))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            Assert.Fail($"{what} did not end in {RunTimeout}:\n{Output(log)}");
        }
        process.WaitForExit();
        var text = Output(log);
        Assert.AreEqual(0, process.ExitCode, $"{what} failed:\n{text}");
        TestContext.WriteLine($"{what}: {watch.Elapsed.TotalSeconds:F1} s");
        return text;
    }

    private static string Output(StringBuilder log) => ChildProcess.Output(log);

    private static Process Start(string[] arguments, StringBuilder log) => ChildProcess.StartCli(arguments, log);
}
