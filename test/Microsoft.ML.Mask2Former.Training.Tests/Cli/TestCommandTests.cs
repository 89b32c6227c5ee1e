using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.ML.Mask2Former.Formats;
using Microsoft.ML.Mask2Former.Synthetic;
using Microsoft.ML.Mask2Former.Training.Export;
using Microsoft.ML.Mask2Former.Training.Tests.Training;

namespace Microsoft.ML.Mask2Former.Training.Tests.Cli;

/// <summary>
/// <c>m2f test</c>, the seed's test command, on a COCO-layout validation set: one forward pass per
/// image gives the numbers <c>m2f segment</c> + <c>m2f eval panoptic</c> + <c>m2f eval instances</c>
/// give run separately; shards started as a Kubernetes Indexed Job's or a Slurm array's processes
/// and merged give exactly the single-process metrics; a shard killed and rerun changes nothing else.
/// </summary>
[TestClass]
[DoNotParallelize]
public sealed class TestCommandTests
{
    private static string _root = "", _model = "", _labels = "";

    public TestContext TestContext { get; set; } = null!;

    [ClassInitialize]
    public static void MakeDataAndModel(TestContext context)
    {
        // Seven images of two sizes with gapped category ids, in the COCO layout.
        var source = TrainingFixtures.SyntheticWithGappedIds(new SyntheticPanopticOptions
        {
            ImageCount = 7, Width = 72, Height = 56, MaxThingsPerImage = 3, MinThingSize = 0.25, MaxThingSize = 0.4, ColourByCategory = true, Seed = 21,
        });
        var options = TrainingFixtures.Fast(steps: 150, size: 64);
        options.Schedule = Optimization.LearningRateScheduleKind.Poly;
        var result = new Mask2FormerTrainer(options).Fit(source);
        _root = TestPaths.NewTempFolder();
        Directory.CreateDirectory(Path.Combine(_root, "annotations"));
        CopyFolder(Path.Combine(source, "images"), Path.Combine(_root, "val2017"));
        CopyFolder(Path.Combine(source, "panoptic"), Path.Combine(_root, "annotations", "panoptic_val2017"));
        File.Copy(Path.Combine(source, "panoptic.json"), Path.Combine(_root, "annotations", "panoptic_val2017.json"));
        CocoInstancesDataset.FromPanoptic(CocoPanopticDataset.Load(Path.Combine(source, "panoptic.json")), Path.Combine(source, "panoptic"))
            .Save(Path.Combine(_root, "annotations", "instances_val2017.json"));
        _model = Path.Combine(_root, "model.onnx");
        using (result.Network) Mask2FormerOnnxExporter.Export(result.Network, _model);
        // A weak model: thresholds 0 keep every query, so the evaluators see plenty of segments and detections.
        _labels = Path.Combine(_root, "labels.json");
        File.WriteAllText(_labels, new JsonObject
        {
            ["labels"] = new JsonArray(result.Network.Config.CategoriesOrDefault().Select(c => (JsonNode)new JsonObject { ["id"] = c.Id, ["name"] = c.Name, ["isthing"] = c.IsThing }).ToArray()),
            ["object_mask_threshold"] = 0.0,
            ["overlap_threshold"] = 0.0,
        }.ToJsonString());
    }

    private static void CopyFolder(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var f in Directory.GetFiles(from)) File.Copy(f, Path.Combine(to, Path.GetFileName(f)));
    }

    private static string[] TestArguments(string output) =>
        ["test", "--model", _model, "--labels", _labels, "--data", _root, "--eval", "pq", "bbox", "segm", "--input-size", "64x64", "--out", output];

    private static JsonNode Json(string path) => JsonNode.Parse(File.ReadAllText(path))!;

    private static double[] Stats(JsonNode metrics, string name) => metrics[name]!["stats"]!.AsArray().Select(v => v!.GetValue<double>()).ToArray();

    private static (int Code, string Out, string Err) Run(params string[] args) => CommandLine.Run(args);

    [TestMethod]
    public void OneForwardPassGivesTheNumbersOfSegmentAndEvalRunSeparately()
    {
        var work = TestPaths.NewTempFolder();
        var metricsFile = Path.Combine(work, "metrics.json");
        var (code, stdout, stderr) = Run([.. TestArguments(Path.Combine(work, "test")), "--json", metricsFile]);
        Assert.AreEqual(0, code, stderr);
        TestContext.WriteLine(stdout);
        StringAssert.Contains(stdout, "Panoptic Evaluation Results:\n+--------+");
        StringAssert.Matches(stdout, new System.Text.RegularExpressions.Regex(@"\|\s+\| PQ\s+\| SQ\s+\| RQ\s+\| categories \|\n\+-"));
        StringAssert.Matches(stdout, new System.Text.RegularExpressions.Regex(@"\| All    \| \d+\.\d{3} \| \d+\.\d{3} \| \d+\.\d{3} \| 7 +\|"));
        StringAssert.Contains(stdout, "Evaluating bbox...\n Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ]");
        StringAssert.Contains(stdout, "bbox_mAP: ");
        StringAssert.Contains(stdout, "segm_mAP_copypaste: ");
        StringAssert.Contains(stdout, "{'PQ': ");
        var metrics = Json(metricsFile);

        // The same through the separate commands.
        var pred = Path.Combine(work, "pred");
        (code, _, stderr) = Run("segment", "--model", _model, "--labels", _labels, "--images", Path.Combine(_root, "val2017"), "--input-size", "64x64",
            "--out-json", pred + ".json", "--out-folder", pred, "--instances-json", pred + ".instances.json");
        Assert.AreEqual(0, code, stderr);
        (code, _, stderr) = Run("eval", "panoptic", "--gt-json", Path.Combine(_root, "annotations", "panoptic_val2017.json"),
            "--gt-folder", Path.Combine(_root, "annotations", "panoptic_val2017"), "--pred-json", pred + ".json", "--pred-folder", pred, "--json", pred + ".pq.json");
        Assert.AreEqual(0, code, stderr);
        var pq = Json(pred + ".pq.json")["panoptic"]!;
        foreach (var part in new[] { "All", "Things", "Stuff" })
            foreach (var q in new[] { "pq", "sq", "rq", "n" })
                Assert.AreEqual(pq[part]![q]!.GetValue<double>(), metrics["panoptic"]![part]![q]!.GetValue<double>(), 0.0, $"{part} {q}");
        Assert.IsGreaterThan(0.0, pq["All"]!["pq"]!.GetValue<double>(), "the comparison must be about something");
        foreach (var type in new[] { "bbox", "segm" })
        {
            (code, _, stderr) = Run("eval", "instances", "--gt", Path.Combine(_root, "annotations", "instances_val2017.json"), "--results", pred + ".instances.json",
                "--iou-type", type, "--json", pred + $".{type}.json");
            Assert.AreEqual(0, code, stderr);
            CollectionAssert.AreEqual(Stats(Json(pred + $".{type}.json"), "coco_" + type), Stats(metrics, "coco_" + type), type);
        }
        Assert.IsGreaterThan(0.0, Stats(metrics, "coco_segm")[0], "the comparison must be about something");
    }

    [TestMethod]
    [Timeout(300_000, CooperativeCancellation = true)]
    public void ShardsOfAnIndexedJobOrASlurmArrayMergeIntoExactlyTheSingleProcessMetrics()
    {
        var work = TestPaths.NewTempFolder();
        var single = Path.Combine(work, "single");
        Assert.AreEqual(0, Run(TestArguments(single)).Code);

        // A Kubernetes Indexed Job: three pods with JOB_COMPLETION_INDEX 0, 1, 2 and the completion count in M2F_SHARDS.
        var k8s = Path.Combine(work, "k8s");
        RunShards(k8s, Enumerable.Range(0, 3).Select(i => new Dictionary<string, string> { ["JOB_COMPLETION_INDEX"] = $"{i}", ["M2F_SHARDS"] = "3" }).ToArray());
        var merged = Merge(k8s, Path.Combine(work, "k8s-merged"));
        AssertSameMetrics(single, merged);

        // A Slurm job array --array=1-3: task ids from SLURM_ARRAY_TASK_MIN.
        var slurm = Path.Combine(work, "slurm");
        RunShards(slurm, Enumerable.Range(1, 3).Select(i => new Dictionary<string, string>
        {
            ["SLURM_ARRAY_TASK_ID"] = $"{i}", ["SLURM_ARRAY_TASK_MIN"] = "1", ["SLURM_ARRAY_TASK_COUNT"] = "3",
        }).ToArray());
        AssertSameMetrics(single, Merge(slurm, Path.Combine(work, "slurm-merged")));

        // Shard 1 killed while it writes, then run again: the other shards' files are untouched.
        var before = Hashes(k8s, except: "shard-0001-of-0003");
        var log = new StringBuilder();
        using (var process = ChildProcess.StartCli(TestArguments(k8s), log, new Dictionary<string, string> { ["JOB_COMPLETION_INDEX"] = "1", ["M2F_SHARDS"] = "3" }))
        {
            var deadline = Stopwatch.StartNew();
            while (!Directory.EnumerateDirectories(k8s, ".shard-0001-of-0003.tmp-*").Any() && !process.HasExited && deadline.Elapsed < TimeSpan.FromSeconds(120)) Thread.Sleep(1);
            Assert.IsFalse(process.HasExited, $"the shard finished before it could be killed:\n{log}");
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
        }
        CollectionAssert.AreEquivalent(before, Hashes(k8s, except: "shard-0001-of-0003"), "a killed shard touches no other shard's files");
        Assert.IsTrue(File.Exists(Path.Combine(k8s, "shard-0001-of-0003", "evaluation.json")), "the killed shard's previous complete output stays");
        RunShards(k8s, [new Dictionary<string, string> { ["JOB_COMPLETION_INDEX"] = "1", ["M2F_SHARDS"] = "3" }]);
        CollectionAssert.AreEquivalent(before, Hashes(k8s, except: "shard-0001-of-0003"), "a rerun shard touches no other shard's files");
        Assert.IsFalse(Directory.EnumerateDirectories(k8s, ".*").Any(), "the rerun removed the killed run's temporary folder");
        AssertSameMetrics(single, Merge(k8s, Path.Combine(work, "k8s-merged-again")));
    }

    private static void RunShards(string output, Dictionary<string, string>[] environments)
    {
        var logs = environments.Select(_ => new StringBuilder()).ToArray();
        var processes = environments.Select((env, i) => ChildProcess.StartCli(TestArguments(output), logs[i], env)).ToArray();
        for (var i = 0; i < processes.Length; i++)
        {
            using var process = processes[i];
            Assert.IsTrue(process.WaitForExit(TimeSpan.FromMinutes(3)), $"shard {i} did not finish:\n{logs[i]}");
            Assert.AreEqual(0, process.ExitCode, $"shard {i}:\n{logs[i]}");
        }
    }

    private static string Merge(string shards, string output)
    {
        var parts = Directory.GetDirectories(shards, "shard-*").Order(StringComparer.Ordinal).ToArray();
        Assert.HasCount(3, parts);
        var (code, _, stderr) = Run(["merge", "--out", output, .. parts]);
        Assert.AreEqual(0, code, stderr);
        return output;
    }

    /// <summary>Every metric of the merged run equals the single process's, bit for bit.</summary>
    private static void AssertSameMetrics(string single, string merged)
    {
        var a = Json(Path.Combine(single, "evaluation.json"));
        var b = Json(Path.Combine(merged, "evaluation.json"));
        Assert.AreEqual(a["images"]!.GetValue<int>(), b["images"]!.GetValue<int>());
        foreach (var name in new[] { "pq", "bbox", "segm" }) Assert.AreEqual(a[name]!.ToJsonString(), b[name]!.ToJsonString(), name);
        // And the predictions merge into the single run's files.
        foreach (var file in new[] { "panoptic.json", "instances.bbox.json", "instances.segm.json" })
            Assert.AreEqual(File.ReadAllText(Path.Combine(single, file)), File.ReadAllText(Path.Combine(merged, file)), file);
        foreach (var png in Directory.GetFiles(Path.Combine(single, "panoptic")))
            CollectionAssert.AreEqual(File.ReadAllBytes(png), File.ReadAllBytes(Path.Combine(merged, "panoptic", Path.GetFileName(png))), png);
    }

    private static string[] Hashes(string folder, string except) =>
        Directory.GetFiles(folder, "*", SearchOption.AllDirectories)
            .Where(f => !Path.GetRelativePath(folder, f).StartsWith(except, StringComparison.Ordinal))
            .Select(f => $"{Path.GetRelativePath(folder, f)} {Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f)))} {File.GetLastWriteTimeUtc(f).Ticks}")
            .ToArray();
}
