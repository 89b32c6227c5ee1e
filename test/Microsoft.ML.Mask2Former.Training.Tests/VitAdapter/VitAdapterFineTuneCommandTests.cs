using System.Text.Json.Nodes;

namespace Microsoft.ML.Mask2Former.Training.Tests.VitAdapter;

/// <summary><c>m2f train --init</c> an mmdetection folder, with the released recipe's layer decay and multi-scale resize.</summary>
[TestClass]
public sealed class VitAdapterFineTuneCommandTests
{
    [TestMethod]
    [Timeout(300_000, CooperativeCancellation = true)]
    public void TrainFromTheReferenceFolderTakesItsNetworkAndTrainsAStep()
    {
        var data = Training.TrainingFixtures.Synthetic(images: 2, size: 64, maxThings: 2, seed: 7);
        var run = Path.Combine(TestPaths.NewTempFolder(), "run");
        var (code, _, err) = CommandLine.Run("train", "--data", data, "--init", VitAdapterParityTests.ReferenceFolder, "--layer-decay", "0.9",
            "--resize", "multiscale", "--steps", "1", "--batch", "1", "--points", "64", "--lr", "1e-6", "--out", run);
        Assert.AreEqual(0, code, err);
        // Without --config the folder's config.json is the network: a ViT-Adapter, not the default preset.
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "config.json")))!;
        Assert.AreEqual(Microsoft.ML.Mask2Former.Training.Modeling.VitAdapter.VitAdapterConfig.Type, config["backbone_config"]!["model_type"]!.GetValue<string>());
        var losses = File.ReadLines(Path.Combine(run, "log.jsonl")).Select(l => JsonNode.Parse(l)!.AsObject()).Where(o => o["loss"] is not null).Select(o => o["loss"]!.GetValue<double>()).ToList();
        Assert.IsTrue(losses.Count > 0 && losses.All(double.IsFinite), string.Join(", ", losses));

        var (badCode, _, badErr) = CommandLine.Run("train", "--data", data, "--init", VitAdapterParityTests.ReferenceFolder, "--resize", "bogus", "--steps", "1", "--out", run + "-2");
        Assert.AreNotEqual(0, badCode);
        StringAssert.Contains(badErr, "lsj, multiscale or resize");
    }
}
