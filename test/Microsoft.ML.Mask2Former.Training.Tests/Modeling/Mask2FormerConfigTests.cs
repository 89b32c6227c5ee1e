using System.Text.Json.Nodes;
using Microsoft.ML.Mask2Former.Formats;
using Microsoft.ML.Mask2Former.Training.Modeling;
using Microsoft.ML.Mask2Former.Training.Modeling.ResNet;
using Microsoft.ML.Mask2Former.Training.Modeling.Swin;

namespace Microsoft.ML.Mask2Former.Training.Tests.Modeling;

[TestClass]
public sealed class Mask2FormerConfigTests
{
    [TestMethod]
    public void ReferenceConfigReadsAsTheSmallPreset()
    {
        var config = Mask2FormerConfig.Load(TestPaths.Model("small_config.json"));
        var preset = Presets.Small();
        var swin = (SwinConfig)config.Backbone;
        Assert.AreEqual(32, swin.EmbedDim);
        CollectionAssert.AreEqual(new[] { 2, 2, 2, 2 }, swin.Depths.ToArray());
        CollectionAssert.AreEqual(new[] { 1, 2, 4, 8 }, swin.NumHeads.ToArray());
        Assert.AreEqual(7, swin.WindowSize);
        Assert.AreEqual(4, swin.PatchSize);
        CollectionAssert.AreEqual(new[] { 32, 64, 128, 256 }, swin.OutChannels.ToArray());
        Assert.AreEqual(10, config.NumLabels);
        Assert.AreEqual("class_3", config.Labels[3]);
        Assert.AreEqual(3, config.TransformerDecoderLayers);
        Assert.AreEqual(preset.ToJson(), config.ToJson());
    }

    [TestMethod]
    public void FullReferenceConfigReadsToo()
    {
        var config = Mask2FormerConfig.Load(TestPaths.Model("small_config_full.json"));
        Assert.AreEqual(Presets.Small().ToJson(), config.ToJson());
    }

    [TestMethod]
    public void EveryPresetIsValidAndRoundTripsThroughJson()
    {
        foreach (var name in Presets.Names)
        {
            var preset = Presets.Get(name);
            preset.Validate();
            var again = Mask2FormerConfig.Parse(preset.ToJson());
            Assert.AreEqual(preset.ToJson(), again.ToJson(), name);
        }
        Assert.AreEqual(200, Presets.SwinLarge().NumQueries);
        Assert.AreEqual(100, Presets.SwinTiny().NumQueries);
        Assert.AreEqual(12, ((SwinConfig)Presets.SwinBase().Backbone).WindowSize);
        CollectionAssert.AreEqual(new[] { 3, 4, 23, 3 }, ((ResNetConfig)Presets.ResNet101().Backbone).Depths.ToArray());
        Assert.AreEqual(133, Presets.ResNet50().NumLabels);
        Assert.ThrowsExactly<ArgumentException>(() => Presets.Get("swin-huge"));
    }

    private static JsonObject SmallJson() => JsonNode.Parse(File.ReadAllText(TestPaths.Model("small_config.json")))!.AsObject();

    private static DataFormatException AssertRejected(JsonObject json, params string[] parts)
    {
        var error = Assert.ThrowsExactly<DataFormatException>(() => Mask2FormerConfig.Parse(json.ToJsonString(), "config.json"));
        Assert.AreEqual("config.json", error.FilePath);
        foreach (var part in parts) StringAssert.Contains(error.Message, part);
        return error;
    }

    [TestMethod]
    public void HiddenDimNotDivisibleByHeads()
    {
        var json = SmallJson();
        json["hidden_dim"] = 66;
        AssertRejected(json, "hidden_dim 66 is not divisible by num_attention_heads 4");
    }

    [TestMethod]
    public void FeatureSizeNotDivisibleByGroupNormGroups()
    {
        var json = SmallJson();
        json["feature_size"] = 48;
        AssertRejected(json, "feature_size 48 is not divisible by the 32 GroupNorm groups");
    }

    [TestMethod]
    public void SwinHeadsAndDepthsDisagree()
    {
        var json = SmallJson();
        json["backbone_config"]!["num_heads"] = new JsonArray(1, 2, 4);
        AssertRejected(json, "num_heads has 3 entries but depths has 4");
        json = SmallJson();
        json["backbone_config"]!["num_heads"] = new JsonArray(1, 2, 3, 8);
        AssertRejected(json, "stage 3 has 128 channels, not divisible by num_heads[2] = 3");
    }

    [TestMethod]
    public void SwinHiddenSizeDisagreesWithEmbedDim()
    {
        var json = SmallJson();
        json["backbone_config"]!["hidden_size"] = 768;
        AssertRejected(json, "hidden_size 768 disagrees with embed_dim 32");
    }

    [TestMethod]
    public void SeveralProblemsAreAllListed()
    {
        var json = SmallJson();
        json["num_queries"] = 0;
        json["decoder_layers"] = 1;
        AssertRejected(json, "num_queries must be positive", "decoder_layers must be at least 2");
    }

    [TestMethod]
    public void NotJsonOrNotMask2Former()
    {
        Assert.ThrowsExactly<DataFormatException>(() => Mask2FormerConfig.Parse("{ not json", "c.json"));
        var json = SmallJson();
        json["model_type"] = "maskformer";
        AssertRejected(json, "model_type is 'maskformer'");
        json = SmallJson();
        json["num_queries"] = "twelve";
        AssertRejected(json, "wrong type");
        json = SmallJson();
        json["backbone_config"]!["model_type"] = "convnext";
        AssertRejected(json, "backbone model_type 'convnext' is not supported");
    }
}
