using Microsoft.ML.Mask2Former.Training.Checkpoints;
using Microsoft.ML.Mask2Former.Training.Modeling;
using Microsoft.ML.Mask2Former.Training.Optimization;

namespace Microsoft.ML.Mask2Former.Training.Tests.VitAdapter;

/// <summary>
/// Layer-wise learning-rate decay on the reference ViT-Adapter config (depth 4, so L = 6 layer ids):
/// the learning rate and weight decay of named parameters against lr × rate^(L − 1 − id).
/// </summary>
[TestClass]
public sealed class VitAdapterLayerDecayTests
{
    private const double LearningRate = 2e-4, WeightDecay = 0.05, Rate = 0.9;
    private const string Backbone = ParameterGroups.BackbonePrefix;

    [TestMethod]
    public void NamedParametersLearnAtTheDecayedRates()
    {
        var config = MmdetConfig.Parse(File.ReadAllText(Path.Combine(VitAdapterParityTests.ReferenceFolder, MmdetModelFolder.ConfigFile))).Model;
        Assert.AreEqual(4, ((VitAdapterConfig)config.Backbone).Depth);
        using var network = new Mask2FormerForUniversalSegmentation(config);
        var groups = ParameterGroups.BuildLayerDecay(network, LearningRate, WeightDecay, Rate, numLayers: 4);
        var byName = groups.SelectMany(g => g.Parameters.Select(p => (p.Name, g))).ToDictionary(p => p.Name, p => p.g);

        // Every trainable parameter in exactly one group.
        Assert.AreEqual(network.parameters().Count(p => p.requires_grad), byName.Count);

        // (name, layer id, decays)
        (string Name, int Layer, bool Decays)[] expected =
        [
            (Backbone + "patch_embed.proj.weight", 0, true),
            (Backbone + "patch_embed.proj.bias", 0, false),
            (Backbone + "blocks.0.attn.qkv.weight", 1, true),
            (Backbone + "blocks.1.attn.q_bias", 2, false),
            (Backbone + "blocks.2.mlp.fc1.weight", 3, true),
            (Backbone + "blocks.2.norm1.weight", 3, false),
            (Backbone + "blocks.2.gamma_1", 3, false),
            (Backbone + "blocks.3.attn.relative_position_bias_table", 4, true),
            (Backbone + "blocks.3.attn.proj.weight", 4, true),
            (Backbone + "level_embed", 5, true),
            (Backbone + "spm.stem.0.weight", 5, true),
            (Backbone + "interactions.0.injector.attn.sampling_offsets.weight", 5, true),
            (Backbone + "interactions.0.injector.gamma", 5, false),
            (Backbone + "interactions.3.extra_extractors.1.ffn.dwconv.dwconv.bias", 5, false),
            ("class_predictor.weight", 5, true),
            ("class_predictor.bias", 5, false),
        ];
        foreach (var (name, layer, decays) in expected)
        {
            Assert.IsTrue(byName.TryGetValue(name, out var group), $"{name} is in no group");
            Assert.AreEqual(LearningRate * Math.Pow(Rate, 5 - layer), group.LearningRate, 1e-15, name);
            Assert.AreEqual(decays ? WeightDecay : 0.0, group.WeightDecay, name);
        }
        // The patch embedding learns at lr × 0.9^5, the last block at lr × 0.9, the head at lr.
        Assert.AreEqual(LearningRate * 0.59049, byName[Backbone + "patch_embed.proj.weight"].LearningRate, 1e-15);
        Assert.AreEqual(LearningRate * 0.9, byName[Backbone + "blocks.3.mlp.fc2.weight"].LearningRate, 1e-15);
        Assert.AreEqual(LearningRate, byName["class_predictor.weight"].LearningRate, 1e-15);
    }

    [TestMethod]
    public void LayerIdsFollowTheBlockIndexNotItsDigits()
    {
        Assert.AreEqual(0, ParameterGroups.LayerId(Backbone + "cls_token", 26));
        Assert.AreEqual(0, ParameterGroups.LayerId(Backbone + "pos_embed", 26));
        Assert.AreEqual(12, ParameterGroups.LayerId(Backbone + "blocks.11.attn.qkv.weight", 26));
        Assert.AreEqual(24, ParameterGroups.LayerId(Backbone + "blocks.23.norm2.bias", 26));
        Assert.AreEqual(25, ParameterGroups.LayerId(Backbone + "interactions.1.injector.query_norm.weight", 26));
        Assert.AreEqual(25, ParameterGroups.LayerId("model.transformer_module.decoder.layers.0.self_attn.out_proj.weight", 26));
    }
}
