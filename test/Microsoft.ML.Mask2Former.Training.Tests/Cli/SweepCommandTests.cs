using Microsoft.ML.Mask2Former.Scoring;
using Microsoft.ML.Mask2Former.Synthetic;
using Microsoft.ML.Mask2Former.Training.Export;
using Microsoft.ML.Mask2Former.Training.Modeling;

namespace Microsoft.ML.Mask2Former.Training.Tests.Cli;

/// <summary>
/// Smoke test of <c>m2f sweep thresholds</c> (CI): an exported model, a small validation folder, a
/// 2×2 grid; ranked reports written; a second run resumes from the journal without re-evaluating.
/// </summary>
[TestClass]
public sealed class SweepCommandTests
{
    [TestMethod]
    public void ThresholdSweepRanksWritesReportsAndResumes()
    {
        var folder = TestPaths.NewTempFolder();
        var model = Path.Combine(folder, "model.onnx");
        using (var network = new Mask2FormerForUniversalSegmentation(Presets.Small(7)))
            Mask2FormerOnnxExporter.Export(network, model, new OnnxExportOptions { FixedHeight = 64, FixedWidth = 64, Labels = SyntheticPanopticDataset.Categories.Select(c => new Mask2FormerLabel(c.Id, c.Name, c.IsThing)).ToArray() });
        var val = Path.Combine(folder, "val");
        SyntheticPanopticDataset.Generate(val, new SyntheticPanopticOptions { ImageCount = 3, Width = 64, Height = 64, Seed = 4 });
        var output = Path.Combine(folder, "sweep");
        string[] args = ["sweep", "thresholds", "--model", model, "--data", val, "--out", output,
            "--object-mask-thresholds", "0.0,0.5", "--overlap-thresholds", "0.5,0.8"];

        var stdout = new StringWriter();
        var stderr = new StringWriter();
        Assert.AreEqual(0, global::Mask2Former.Cli.Program.Run(args, stdout, stderr), stderr.ToString());
        StringAssert.Contains(stdout.ToString(), "| rank | object_mask_threshold | overlap_threshold |");
        StringAssert.Contains(stdout.ToString(), "Best: object_mask_threshold=");
        StringAssert.Contains(File.ReadAllText(Path.Combine(output, "panoptic-thresholds.md")), "4 candidates, 4 trials");
        var csv = File.ReadAllLines(Path.Combine(output, "panoptic-thresholds.csv"));
        Assert.HasCount(5, csv, "a header and four settings");
        var firstStderr = stderr.ToString();
        Assert.AreEqual(4, firstStderr.Split('\n').Count(l => l.Contains(": PQ ")), "every setting evaluated once");

        // Resumed: the journal holds every trial, so nothing is evaluated (or journalled) again and the ranking is the same.
        var journal = File.ReadAllLines(Path.Combine(output, "journal.jsonl"));
        Assert.HasCount(5, journal, "the sweep line and four trials");
        var againErr = new StringWriter();
        Assert.AreEqual(0, global::Mask2Former.Cli.Program.Run(args, new StringWriter(), againErr), againErr.ToString());
        CollectionAssert.AreEqual(journal, File.ReadAllLines(Path.Combine(output, "journal.jsonl")), "a finished sweep is not re-run");
        CollectionAssert.AreEqual(csv, File.ReadAllLines(Path.Combine(output, "panoptic-thresholds.csv")));

        // Bad input: a threshold outside [0, 1] is a usage error.
        Assert.AreEqual(2, global::Mask2Former.Cli.Program.Run([.. args[..^4], "--object-mask-thresholds", "1.5"], new StringWriter(), new StringWriter()));
    }
}
