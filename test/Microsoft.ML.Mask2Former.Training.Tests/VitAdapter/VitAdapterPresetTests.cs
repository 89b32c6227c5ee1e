using System.Text.Json.Nodes;
using Microsoft.ML.Mask2Former.Training.Modeling;
using static TorchSharp.torch;
using Microsoft.ML.Mask2Former.Training.Modeling.VitAdapter;

namespace Microsoft.ML.Mask2Former.Training.Tests.VitAdapter;

/// <summary>The ViT-Adapter presets: the released seed configuration exactly, and a tiny one with the reference's architecture.</summary>
[TestClass]
public sealed class VitAdapterPresetTests
{
    /// <summary>
    /// The <c>model</c> dict of czczup/ViT-Adapter's
    /// <c>detection/configs/mask2former/mask2former_beitv2_adapter_large_16x1_3x_coco-panoptic.py</c>
    /// as JSON (losses, train_cfg and test_cfg as released too).
    /// </summary>
    private const string ReleasedModel = """
        {"model": {"type": "Mask2Former",
          "backbone": {"type": "BEiTAdapter", "img_size": 224, "patch_size": 16, "embed_dim": 1024, "depth": 24, "num_heads": 16,
            "mlp_ratio": 4, "qkv_bias": true, "use_abs_pos_emb": false, "use_rel_pos_bias": true, "init_values": 1e-6,
            "drop_path_rate": 0.4, "conv_inplane": 64, "n_points": 4, "deform_num_heads": 16, "cffn_ratio": 0.25, "deform_ratio": 0.5,
            "window_attn": [true, true, true, true, true, true, true, true, true, true, true, true,
                            true, true, true, true, true, true, true, true, true, true, true, true],
            "window_size": [14, 14, 14, 14, 14, 56, 14, 14, 14, 14, 14, 56, 14, 14, 14, 14, 14, 56, 14, 14, 14, 14, 14, 56],
            "interaction_indexes": [[0, 5], [6, 11], [12, 17], [18, 23]], "pretrained": null},
          "panoptic_head": {"type": "Mask2FormerHead", "in_channels": [1024, 1024, 1024, 1024], "strides": [4, 8, 16, 32],
            "feat_channels": 256, "out_channels": 256, "num_things_classes": 80, "num_stuff_classes": 53, "num_queries": 100,
            "num_transformer_feat_level": 3,
            "pixel_decoder": {"type": "MSDeformAttnPixelDecoder", "num_outs": 3, "norm_cfg": {"type": "GN", "num_groups": 32},
              "act_cfg": {"type": "ReLU"},
              "encoder": {"type": "DetrTransformerEncoder", "num_layers": 6,
                "transformerlayers": {"type": "BaseTransformerLayer",
                  "attn_cfgs": {"type": "MultiScaleDeformableAttention", "embed_dims": 256, "num_heads": 8, "num_levels": 3,
                    "num_points": 4, "im2col_step": 64, "dropout": 0.0, "batch_first": false, "norm_cfg": null, "init_cfg": null},
                  "ffn_cfgs": {"type": "FFN", "embed_dims": 256, "feedforward_channels": 1024, "num_fcs": 2, "ffn_drop": 0.0,
                    "act_cfg": {"type": "ReLU", "inplace": true}},
                  "operation_order": ["self_attn", "norm", "ffn", "norm"]}, "init_cfg": null},
              "positional_encoding": {"type": "SinePositionalEncoding", "num_feats": 128, "normalize": true}, "init_cfg": null},
            "enforce_decoder_input_project": false,
            "positional_encoding": {"type": "SinePositionalEncoding", "num_feats": 128, "normalize": true},
            "transformer_decoder": {"type": "DetrTransformerDecoder", "return_intermediate": true, "num_layers": 9,
              "transformerlayers": {"type": "DetrTransformerDecoderLayer",
                "attn_cfgs": {"type": "MultiheadAttention", "embed_dims": 256, "num_heads": 8, "attn_drop": 0.0, "proj_drop": 0.0,
                  "dropout_layer": null, "batch_first": false},
                "ffn_cfgs": {"embed_dims": 256, "feedforward_channels": 2048, "num_fcs": 2, "act_cfg": {"type": "ReLU", "inplace": true},
                  "ffn_drop": 0.0, "dropout_layer": null, "add_identity": true},
                "feedforward_channels": 2048,
                "operation_order": ["cross_attn", "norm", "self_attn", "norm", "ffn", "norm"]}, "init_cfg": null},
            "loss_cls": {"type": "CrossEntropyLoss", "use_sigmoid": false, "loss_weight": 2.0, "reduction": "mean", "class_weight": CLASS_WEIGHT},
            "loss_mask": {"type": "CrossEntropyLoss", "use_sigmoid": true, "reduction": "mean", "loss_weight": 5.0},
            "loss_dice": {"type": "DiceLoss", "use_sigmoid": true, "activate": true, "reduction": "mean", "naive_dice": true, "eps": 1.0, "loss_weight": 5.0}},
          "panoptic_fusion_head": {"type": "MaskFormerFusionHead", "num_things_classes": 80, "num_stuff_classes": 53, "loss_panoptic": null, "init_cfg": null},
          "train_cfg": {"num_points": 12544, "oversample_ratio": 3.0, "importance_sample_ratio": 0.75},
          "test_cfg": {"panoptic_on": true, "semantic_on": false, "instance_on": true, "max_per_image": 100, "iou_thr": 0.8, "filter_low_score": true},
          "init_cfg": null}}
        """;

    private static string WithoutLabels(Mask2FormerConfig config)
    {
        var json = JsonNode.Parse(config.ToJson())!.AsObject();
        json.Remove("id2label");
        json.Remove("label2id");
        json.Remove("categories");
        return json.ToJsonString();
    }

    [TestMethod]
    public void TheLargePresetIsExactlyTheReleasedConfiguration()
    {
        var weights = "[" + string.Join(", ", Enumerable.Repeat("1.0", 133).Append("0.1")) + "]";
        var released = MmdetConfig.Parse(ReleasedModel.Replace("CLASS_WEIGHT", weights, StringComparison.Ordinal));
        var preset = Presets.Get("vit-adapter-l-coco-panoptic");
        Assert.AreEqual(WithoutLabels(released.Model), WithoutLabels(preset));
        Assert.AreEqual(133, preset.NumLabels);
        Assert.AreEqual(10, preset.DecoderLayers, "9 mmdetection decoder layers");
        var vit = (VitAdapterConfig)preset.Backbone;
        CollectionAssert.AreEqual(new[] { 5, 11, 17, 23 }, Enumerable.Range(0, 24).Where(i => vit.WindowSize[i] == 56).ToArray());
        Assert.AreEqual(512, vit.DeformValueDim);
        Assert.AreEqual(256, vit.CffnHiddenDim);
    }

    [TestMethod]
    public void TheLargePresetHasTheCountedParameters()
    {
        using var network = new Mask2FormerForUniversalSegmentation(Presets.VitAdapterLargeCocoPanoptic());
        Assert.AreEqual(347_974_534L, network.parameters().Sum(p => p.numel()));
        Assert.AreEqual(327_380_032L, network.Model.PixelLevel.Encoder.parameters().Sum(p => p.numel()), "backbone");
    }

    [TestMethod]
    public void TheTinyPresetHasTheReferenceArchitectureAndRunsAnyMultipleOf32()
    {
        using var reference = Mask2FormerForUniversalSegmentation.FromPretrained(VitAdapterParityTests.ReferenceFolder);
        using var tiny = new Mask2FormerForUniversalSegmentation(Presets.Get("vit-adapter-tiny", 5));
        var expected = reference.state_dict().ToDictionary(p => p.Key, p => string.Join("x", p.Value.shape));
        var actual = tiny.state_dict().ToDictionary(p => p.Key, p => string.Join("x", p.Value.shape));
        CollectionAssert.AreEquivalent(expected, actual);

        tiny.eval();
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        using (var output = tiny.forward(randn(2, 3, 64, 224)))
        {
            CollectionAssert.AreEqual(new long[] { 2, 10, 6 }, output.ClassQueriesLogits.shape);
            CollectionAssert.AreEqual(new long[] { 2, 10, 16, 56 }, output.MasksQueriesLogits.shape);
            Assert.IsTrue(output.MasksQueriesLogits.isfinite().all().item<bool>());
        }
        var error = Assert.ThrowsExactly<ArgumentException>(() => tiny.forward(randn(1, 3, 64, 80)));
        StringAssert.Contains(error.Message, "multiples of 32");
        StringAssert.Contains(error.Message, "64×80");
    }
}
