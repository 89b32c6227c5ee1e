using System.Text.Json.Nodes;
using Microsoft.ML.Mask2Former.Training.Checkpoints;
using Microsoft.ML.Mask2Former.Training.Modeling;
using Microsoft.ML.Mask2Former.Training.Optimization;

namespace Microsoft.ML.Mask2Former.Training.Tests.VitAdapter;

/// <summary>
/// Layer-wise learning-rate decay as ViT-Adapter's <c>LayerDecayOptimizerConstructor</c>: the
/// learning rate and weight decay of named parameters of the reference architecture (depth 4, so
/// L = 6 layers) against the constructor's formula, and a training step that uses them.
/// </summary>
[TestClass]
public sealed class LayerDecayTests
{
    private const double Lr = 1e-4, Wd = 0.05, Rate = 0.9;
    private const string B = "model.pixel_level_module.encoder.";

    private static Mask2FormerForUniversalSegmentation Reference() =>
        new(Mask2FormerConfig.Load(Path.Combine(VitAdapterParityTests.ReferenceFolder, MmdetModelFolder.ConfigFile)));

    [TestMethod]
    [DataRow(B + "patch_embed.proj.weight", 0, true)]
    [DataRow(B + "patch_embed.proj.bias", 0, false)]
    [DataRow(B + "blocks.0.attn.qkv.weight", 1, true)]
    [DataRow(B + "blocks.0.attn.q_bias", 1, false)]
    [DataRow(B + "blocks.1.gamma_1", 2, false)]                        // layer scale: one-dimensional
    [DataRow(B + "blocks.2.attn.relative_position_bias_table", 3, true)]
    [DataRow(B + "blocks.3.mlp.fc2.weight", 4, true)]                 // the last block
    [DataRow(B + "level_embed", 5, true)]                              // adapter: the top layer
    [DataRow(B + "spm.stem.0.weight", 5, true)]
    [DataRow(B + "interactions.0.injector.attn.sampling_offsets.bias", 5, false)]
    [DataRow("model.transformer_module.queries_features.weight", 5, true)] // head: the top layer, embeddings decay
    [DataRow("class_predictor.weight", 5, true)]
    public void EachParameterLearnsAtItsLayersRate(string name, int layer, bool decays)
    {
        using var network = Reference();
        var groups = ParameterGroups.BuildLayerDecay(network, Lr, Wd, Rate);
        var group = groups.Single(g => g.Parameters.Any(p => p.Name == name));
        const int Layers = 4 + 2;
        Assert.AreEqual(Lr * Math.Pow(Rate, Layers - layer - 1), group.LearningRate, 1e-18, $"{name} in {group.Name}");
        Assert.AreEqual(decays ? Wd : 0.0, group.WeightDecay, $"{name} in {group.Name}");
        Assert.AreEqual($"layer_{layer}_{(decays ? "decay" : "no_decay")}", group.Name);
    }

    [TestMethod]
    public void EveryTrainableParameterIsInExactlyOneGroup()
    {
        using var network = Reference();
        var groups = ParameterGroups.BuildLayerDecay(network, Lr, Wd, Rate);
        var grouped = groups.SelectMany(g => g.Parameters.Select(p => p.Name)).ToList();
        var trainable = network.named_parameters().Where(p => p.parameter.requires_grad).Select(p => p.name).ToList();
        CollectionAssert.AreEquivalent(trainable, grouped);
        // Layers 0 … 5, each with weights that decay and biases that do not.
        Assert.HasCount(12, groups, string.Join(", ", groups.Select(g => g.Name)));
    }

    [TestMethod]
    public void LayerIdsFollowTheBlockIndexNotItsDigits()
    {
        // ViT-Adapter-L: 24 blocks, L = 26.
        Assert.AreEqual(0, ParameterGroups.LayerOf(B + "cls_token", 26));
        Assert.AreEqual(0, ParameterGroups.LayerOf(B + "pos_embed", 26));
        Assert.AreEqual(12, ParameterGroups.LayerOf(B + "blocks.11.attn.qkv.weight", 26));
        Assert.AreEqual(24, ParameterGroups.LayerOf(B + "blocks.23.norm2.bias", 26));
        Assert.AreEqual(25, ParameterGroups.LayerOf(B + "interactions.1.injector.query_norm.weight", 26));
        Assert.AreEqual(25, ParameterGroups.LayerOf("model.transformer_module.decoder.layers.0.self_attn.out_proj.weight", 26));
    }

    [TestMethod]
    public void OtherBackbonesAreRefused()
    {
        using var network = new Mask2FormerForUniversalSegmentation(Presets.Small(4));
        var e = Assert.ThrowsExactly<ArgumentException>(() => ParameterGroups.BuildLayerDecay(network, Lr, Wd, Rate));
        StringAssert.Contains(e.Message, "ViT-Adapter");
    }

    [TestMethod]
    public void ATrainingStepFromTheCheckpointUsesTheLayerRates()
    {
        var data = Training.TrainingFixtures.Synthetic(images: 2, size: 64, maxThings: 2, seed: 5);
        var options = Training.TrainingFixtures.Fast(steps: 1, size: 64);
        options.Config = Mask2FormerConfig.Load(Path.Combine(VitAdapterParityTests.ReferenceFolder, MmdetModelFolder.ConfigFile));
        options.InitialWeights = Path.Combine(VitAdapterParityTests.ReferenceFolder, MmdetModelFolder.CheckpointFile);
        options.LearningRate = Lr;
        options.WeightDecay = Wd;
        options.LayerDecayRate = Rate;
        options.OutputFolder = TestPaths.NewTempFolder();
        var losses = new List<double>();
        var result = new Mask2FormerTrainer(options).Fit(data, new Training.SyncProgress(p => losses.Add(p.Loss)));
        using var network = result.Network;
        Assert.IsTrue(losses.Count > 0 && losses.All(double.IsFinite), string.Join(", ", losses));
        // The checkpoint records the rate of each optimizer group: layers 0 … 5 of the constructor, in its order.
        var state = JsonNode.Parse(File.ReadAllText(Path.Combine(result.Checkpoint!, TrainingCheckpoint.StateFile)))!;
        var recorded = state["schedule"]!["group_lrs"]!.AsArray().Select(v => v!.GetValue<double>()).ToArray();
        var expected = ParameterGroups.BuildLayerDecay(network, Lr, Wd, Rate).Select(g => g.LearningRate).ToArray();
        CollectionAssert.AreEqual(expected, recorded);
        CollectionAssert.AreEquivalent(Enumerable.Range(0, 6).Select(l => Lr * Math.Pow(Rate, 5 - l)).ToArray(), recorded.Distinct().ToArray());
    }
}
