using System.Text.Json.Nodes;
using Microsoft.ML.Mask2Former.Formats;
using Microsoft.ML.Mask2Former.Training.Checkpoints;
using Microsoft.ML.Mask2Former.Training.Modeling;
using Microsoft.ML.Mask2Former.Training.Modeling.VitAdapter;
using static TorchSharp.torch;

namespace Microsoft.ML.Mask2Former.Training.Tests.VitAdapter;

/// <summary>The reference mmdetection checkpoint's traps: EMA copies, absent relative position indices, strictness.</summary>
[TestClass]
public sealed class MmdetCheckpointTests
{
    private static string Folder => VitAdapterParityTests.ReferenceFolder;

    private static string CheckpointPath => Path.Combine(Folder, MmdetModelFolder.CheckpointFile);

    private static JsonObject ConfigJson() => (JsonObject)JsonNode.Parse(File.ReadAllText(Path.Combine(Folder, MmdetModelFolder.ConfigFile)))!;

    private static Mask2FormerForUniversalSegmentation Build(JsonObject config) => new(MmdetConfig.Parse(config.ToJsonString()).Model);

    [TestMethod]
    public void TheConfigBuildsTheReferenceArchitectureAndEveryWeightLoads()
    {
        using var network = Build(ConfigJson());
        Assert.AreEqual(545_542L, network.parameters().Sum(p => p.numel()), "summary.json's parameter count");
        var report = MmdetModelFolder.LoadWeights(network, CheckpointPath);
        Assert.IsTrue(report.IsExact, report.Describe());
        // 425 stored tensors; the three self-attention in_proj weights and biases load as q, k, v; plus the class weights.
        Assert.AreEqual(425 - 6 + 18 + 1, report.Loaded.Count);
        Assert.IsFalse(report.Loaded.Any(n => n.StartsWith("ema_", StringComparison.Ordinal)));
    }

    [TestMethod]
    public void EmaCopiesAreIgnored()
    {
        using var network = Build(ConfigJson());
        MmdetModelFolder.LoadWeights(network, CheckpointPath);
        using var file = PthFile.Open(CheckpointPath);
        var all = ((PickleDict)((PickleDict)file.Root!).Items.Single(kv => (string)kv.Key! == "state_dict").Value!).Items
            .ToDictionary(kv => (string)kv.Key!, kv => (PthTensorInfo)kv.Value!);
        using var scope = NewDisposeScope();
        var loaded = network.state_dict()["model.pixel_level_module.encoder.level_embed"];
        Assert.IsTrue(loaded.eq(file.ReadTensor(all["backbone.level_embed"], "w")).all().item<bool>());
        Assert.IsFalse(loaded.allclose(file.ReadTensor(all["ema_backbone_level_embed"], "ema"), 0.1, 0.1));
        var mean = network.state_dict()["model.pixel_level_module.encoder.norm1.running_mean"];
        Assert.IsTrue(mean.eq(file.ReadTensor(all["backbone.norm1.running_mean"], "m")).all().item<bool>());
    }

    [TestMethod]
    public void AbsentRelativePositionIndicesAreRecomputedAsPythonComputedThem()
    {
        using var network = Build(ConfigJson());
        using var file = PthFile.Open(CheckpointPath);
        var all = ((PickleDict)((PickleDict)file.Root!).Items.Single(kv => (string)kv.Key! == "state_dict").Value!).Items
            .ToDictionary(kv => (string)kv.Key!, kv => (PthTensorInfo)kv.Value!);
        Assert.IsFalse(all.ContainsKey("backbone.blocks.0.attn.relative_position_index"), "the trap: the reference drops them");
        var blocks = ((VitAdapterBackbone)network.Model.PixelLevel.Encoder).Blocks;
        using var scope = NewDisposeScope();
        for (var j = 0; j < 4; j++)
        {
            // The EMA hook's integer copies are the index + 1: the only place Python's values survive.
            var python = file.ReadTensor(all[$"ema_backbone_blocks_{j}_attn_relative_position_index"], "ema") - 1;
            Assert.IsTrue(blocks[j].Attention.RelativePositionIndex.eq(python).all().item<bool>(), $"block {j}");
        }
    }

    [TestMethod]
    public void StoredRelativePositionIndicesAreCheckedAgainstTheWindow()
    {
        using var network = Build(ConfigJson());
        var window12 = new long[144 * 144];
        var blocks = ((VitAdapterBackbone)network.Model.PixelLevel.Encoder).Blocks;
        blocks[3].Attention.RelativePositionIndex.data<long>().CopyTo(window12, 0);
        string Archive(long[] values)
        {
            var bytes = new byte[values.Length * 8];
            Buffer.BlockCopy(values, 0, bytes, 0, bytes.Length);
            var pickle = new PickleBuilder().EmptyDict().Mark().Str("backbone.blocks.3.attn.relative_position_index")
                .Tensor("0", values.Length, 0, new[] { 144, 144 }, new[] { 144, 1 }, "LongStorage").SetItems().Stop().ToArray();
            return PickleBuilder.WriteArchive(pickle, new Dictionary<string, byte[]> { ["0"] = bytes });
        }
        using (var good = PthFile.Open(Archive(window12)))
            Assert.AreEqual(1, MmdetNameMap.Map(good, MmdetCheckpoint.StateDict(good), network).Count, "a correct index is consumed (only the class weights remain)");
        window12[5] += 1;
        var badPath = Archive(window12);
        using var bad = PthFile.Open(badPath);
        var error = Assert.ThrowsExactly<DataFormatException>(() => MmdetNameMap.Map(bad, MmdetCheckpoint.StateDict(bad), network));
        StringAssert.Contains(error.Message, "'backbone.blocks.3.attn.relative_position_index' differs from BEiT's relative position index for window 12");
        StringAssert.Contains(error.Message, badPath);
    }

    [TestMethod]
    public void WrongShapesMissingAndUnexpectedNamesAreAllListedAndNothingIsLoaded()
    {
        var config = ConfigJson();
        var model = config["model"]!.AsObject();
        model["panoptic_head"]!["num_queries"] = 12;
        model["panoptic_head"]!["transformer_decoder"]!["num_layers"] = 2;
        model["backbone"]!["window_size"]![0] = 6;
        model["backbone"]!["conv_inplane"] = 8;
        using var network = Build(config);
        var before = network.state_dict()["class_predictor.weight"].clone();
        var error = Assert.ThrowsExactly<CheckpointMismatchException>(() => MmdetModelFolder.LoadWeights(network, CheckpointPath));
        var mismatched = error.Report.ShapeMismatches.Select(m => m.Name).ToList();
        foreach (var name in new[] { "panoptic_head.query_embed.weight", "panoptic_head.query_feat.weight", "backbone.blocks.0.attn.relative_position_bias_table", "backbone.spm.stem.0.weight", "backbone.spm.fc1.weight" })
            CollectionAssert.Contains(mismatched, name);
        Assert.IsTrue(error.Report.ShapeMismatches.Any(m => m.ToString() == "backbone.blocks.0.attn.relative_position_bias_table (model [121, 4], checkpoint [49, 4])"));
        CollectionAssert.Contains(error.Report.Unexpected.ToList(), "panoptic_head.transformer_decoder.layers.2.attentions.0.attn.in_proj_weight");
        CollectionAssert.Contains(error.Report.Unexpected.ToList(), "panoptic_head.transformer_decoder.layers.2.attentions.1.attn.in_proj_weight[q]");
        Assert.AreEqual(0, error.Report.Missing.Count, string.Join(", ", error.Report.Missing));
        StringAssert.Contains(error.Message, CheckpointPath);
        Assert.IsTrue(before.eq(network.state_dict()["class_predictor.weight"]).all().item<bool>(), "a failed strict load must not change the model");

        var lenient = MmdetModelFolder.LoadWeights(network, CheckpointPath, strict: false);
        Assert.IsFalse(lenient.IsExact);
        Assert.IsTrue(lenient.Loaded.Contains("panoptic_head.cls_embed.weight"));
    }

    [TestMethod]
    public void AMissingWeightIsListedByOurName()
    {
        var config = ConfigJson();
        config["model"]!["panoptic_head"]!["transformer_decoder"]!["num_layers"] = 4;
        using var network = Build(config);
        var error = Assert.ThrowsExactly<CheckpointMismatchException>(() => MmdetModelFolder.LoadWeights(network, CheckpointPath));
        CollectionAssert.Contains(error.Report.Missing.ToList(), "model.transformer_module.decoder.layers.3.self_attn.q_proj.weight");
        CollectionAssert.Contains(error.Report.Missing.ToList(), "model.transformer_module.decoder.layers.3.cross_attn.in_proj_weight");
    }

    [TestMethod]
    public void ConfigurationsTheNetworkCannotReproduceAreRefusedByField()
    {
        void Refused(Action<JsonObject> edit, string part)
        {
            var config = ConfigJson();
            edit(config);
            var error = Assert.ThrowsExactly<DataFormatException>(() => MmdetConfig.Parse(config.ToJsonString(), "cfg.json"));
            StringAssert.Contains(error.Message, part);
            StringAssert.Contains(error.Message, "cfg.json");
        }
        Refused(c => c["model"]!["backbone"]!["type"] = "SwinTransformer", "model.backbone.type is 'SwinTransformer'; only 'BEiTAdapter'");
        Refused(c => c["model"]!["backbone"]!["use_abs_pos_emb"] = true, "use_abs_pos_emb");
        Refused(c => c["model"]!["panoptic_head"]!["transformer_decoder"]!["transformerlayers"]!["operation_order"] =
            new JsonArray("norm", "cross_attn", "norm", "self_attn", "norm", "ffn"), "transformer_decoder.transformerlayers.operation_order");
        Refused(c => c["model"]!["panoptic_head"]!["num_stuff_classes"] = 3, "class_weight has 6 entries for 6 classes + no-object");
        Refused(c =>
        {
            c["model"]!["panoptic_head"]!["num_stuff_classes"] = 3;
            c["model"]!["panoptic_head"]!.AsObject().Remove("loss_cls");
        }, "classes has 5 names but the head has num_things_classes + num_stuff_classes = 6");
        Refused(c => c["model"]!["panoptic_head"]!["in_channels"] = new JsonArray(64, 64, 64, 32), "in_channels [64, 64, 64, 32]");
        Refused(c => c["model"]!["backbone"]!["interaction_indexes"] = new JsonArray(new JsonArray(0, 1), new JsonArray(3, 3)), "interaction_indexes[1]");
        Refused(c => c["model"]!["panoptic_head"]!["pixel_decoder"]!["encoder"]!["transformerlayers"]!["attn_cfgs"]!["num_heads"] = 8, "differs from the pixel decoder's 8");
    }

    [TestMethod]
    public void TheConfigCarriesClassesThingsAndNormalisation()
    {
        var config = MmdetConfig.Load(Path.Combine(Folder, MmdetModelFolder.ConfigFile));
        CollectionAssert.AreEqual(new[] { "person", "car", "dog", "sky-other-merged", "grass-merged" }, config.Model.Labels.ToArray());
        CollectionAssert.AreEqual(new[] { true, true, true, false, false }, config.IsThing.ToArray());
        CollectionAssert.AreEqual(new[] { 123.675, 116.28, 103.53 }, config.PixelMean.ToArray());
        Assert.AreEqual(8, config.Model.PixelDecoderNormGroups);
        Assert.AreEqual(4, config.Model.DecoderLayers, "3 mmdetection decoder layers = Hugging Face decoder_layers 4");
        var vit = (VitAdapterConfig)config.Model.Backbone;
        CollectionAssert.AreEqual(new[] { 4, 4, 4, 12 }, vit.WindowSize.ToArray());
        Assert.AreEqual(32, vit.DeformValueDim);
        Assert.AreEqual(0.1, config.Model.NoObjectWeight);
    }
}
