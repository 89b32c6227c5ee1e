using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.ML.Mask2Former.Scoring;
using Microsoft.ML.Mask2Former.Training.Modeling.VitAdapter;

namespace Microsoft.ML.Mask2Former.Training.Modeling;

/// <summary>
/// An mmdetection 2.x Mask2Former configuration as JSON: <c>model</c> is the config's <c>model</c>
/// dict with mmdetection's field names (<c>backbone</c>, <c>panoptic_head</c> with its
/// <c>pixel_decoder</c> and <c>transformer_decoder</c>, <c>train_cfg</c>, <c>test_cfg</c>),
/// beside it <c>classes</c> (the dataset's <c>CLASSES</c>, things first), <c>isthing</c> and
/// <c>img_norm_cfg</c>. Read into a <see cref="Mask2FormerConfig"/>: the head maps onto our pixel
/// decoder and transformer decoder one to one (see <c>MmdetNameMap</c>); the backbone is
/// ViT-Adapter's <c>BEiTAdapter</c>, with upstream's defaults for absent fields. Anything the
/// network cannot reproduce exactly (another backbone, pre-norm layers, other operation orders,
/// dropout, absolute position embeddings…) is refused with the field named.
/// </summary>
public sealed class MmdetConfig
{
    private MmdetConfig(Mask2FormerConfig model, IReadOnlyList<bool> isThing, IReadOnlyList<double> mean, IReadOnlyList<double> std, JsonObject? testCfg)
    {
        Model = model;
        IsThing = isThing;
        PixelMean = mean;
        PixelStd = std;
        // MaskFormerFusionHead's defaults for absent keys.
        ObjectMaskThreshold = testCfg?["object_mask_thr"]?.GetValue<double>() ?? 0.8;
        OverlapThreshold = testCfg?["iou_thr"]?.GetValue<double>() ?? 0.8;
        FilterLowScore = testCfg?["filter_low_score"]?.GetValue<bool>() ?? false;
    }

    /// <summary><c>test_cfg.object_mask_thr</c>: minimum query score of a panoptic segment (default 0.8, the fusion head's).</summary>
    public double ObjectMaskThreshold { get; }

    /// <summary><c>test_cfg.iou_thr</c>: minimum visible fraction of a segment's mask (default 0.8).</summary>
    public double OverlapThreshold { get; }

    /// <summary><c>test_cfg.filter_low_score</c>: keep only segment pixels whose own mask probability is at least 0.5 (default false).</summary>
    public bool FilterLowScore { get; }

    /// <summary>The network's configuration (labels = the classes).</summary>
    public Mask2FormerConfig Model { get; }

    /// <summary>Thing (true) or stuff (false) per class index.</summary>
    public IReadOnlyList<bool> IsThing { get; }

    /// <summary>Per-channel mean of the input normalisation (<c>img_norm_cfg.mean</c>, RGB, 0–255).</summary>
    public IReadOnlyList<double> PixelMean { get; }

    /// <summary>Per-channel standard deviation of the input normalisation (<c>img_norm_cfg.std</c>).</summary>
    public IReadOnlyList<double> PixelStd { get; }

    /// <summary>Whether a parsed <c>config.json</c> is an mmdetection one (it has a <c>model</c> dict of type <c>Mask2Former</c>).</summary>
    public static bool IsMmdet(JsonNode? root) => root is JsonObject o && o["model"] is JsonObject model && model["type"] is JsonValue;

    /// <summary>Reads an mmdetection <c>config.json</c>.</summary>
    /// <exception cref="DataFormatException">The file is not valid JSON, or describes a model this network cannot reproduce; the message names the field.</exception>
    public static MmdetConfig Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var full = Path.GetFullPath(path);
        return Parse(File.ReadAllText(full), full);
    }

    /// <summary>Parses the text of an mmdetection <c>config.json</c>; see <see cref="Load"/>.</summary>
    public static MmdetConfig Parse(string json, string? filePath = null) => Read(ConfigJson.ParseObject(json, filePath), filePath);

    /// <summary>Reads an already parsed mmdetection <c>config.json</c>.</summary>
    internal static MmdetConfig Read(JsonObject root, string? filePath) => ConfigJson.Read(filePath, () => new Reader(filePath).Read(root));

    private sealed class Reader(string? filePath)
    {
        public MmdetConfig Read(JsonObject root)
        {
            var model = Obj(root, "model", "");
            Expect(model, "type", "Mask2Former", "model");
            var backbone = ReadBackbone(Obj(model, "backbone", "model"));
            var head = Obj(model, "panoptic_head", "model");
            const string H = "model.panoptic_head";
            Expect(head, "type", "Mask2FormerHead", H);
            var feat = Req<int>(head, "feat_channels", H);
            var inChannels = Ints(head, "in_channels", H);
            if (!inChannels.SequenceEqual(backbone.OutChannels))
                Fail($"{H}.in_channels [{string.Join(", ", inChannels)}] must be the backbone's channels [{string.Join(", ", backbone.OutChannels)}]");
            if (head["strides"] is not null && !Ints(head, "strides", H).SequenceEqual(new[] { 4, 8, 16, 32 })) Fail($"{H}.strides must be [4, 8, 16, 32]");
            if (Opt(head, "num_transformer_feat_level", 3) != Mask2FormerConfig.FeatureLevels) Fail($"{H}.num_transformer_feat_level must be {Mask2FormerConfig.FeatureLevels}");
            var things = Req<int>(head, "num_things_classes", H);
            var stuff = Req<int>(head, "num_stuff_classes", H);

            var pixel = Obj(head, "pixel_decoder", H);
            const string P = H + ".pixel_decoder";
            Expect(pixel, "type", "MSDeformAttnPixelDecoder", P);
            if (Opt(pixel, "num_outs", 3) != 3) Fail($"{P}.num_outs must be 3");
            var norm = Obj(pixel, "norm_cfg", P);
            Expect(norm, "type", "GN", P + ".norm_cfg");
            if (pixel["act_cfg"] is JsonObject act) Expect(act, "type", "ReLU", P + ".act_cfg");
            var encoder = Obj(pixel, "encoder", P);
            Expect(encoder, "type", "DetrTransformerEncoder", P + ".encoder");
            var encoderLayer = Obj(encoder, "transformerlayers", P + ".encoder");
            var encoderAttention = Obj(encoderLayer, "attn_cfgs", P + ".encoder.transformerlayers");
            const string EA = P + ".encoder.transformerlayers.attn_cfgs";
            Expect(encoderAttention, "type", "MultiScaleDeformableAttention", EA);
            if (Opt(encoderAttention, "embed_dims", feat) != feat) Fail($"{EA}.embed_dims must be feat_channels {feat}");
            if (Opt(encoderAttention, "num_levels", 4) != Mask2FormerConfig.FeatureLevels) Fail($"{EA}.num_levels must be {Mask2FormerConfig.FeatureLevels}");
            if (Opt(encoderAttention, "num_points", 4) != Mask2FormerConfig.DeformablePoints) Fail($"{EA}.num_points must be {Mask2FormerConfig.DeformablePoints}");
            NoDropout(encoderAttention, EA, "dropout");
            var heads = Opt(encoderAttention, "num_heads", 8);
            var encoderFfn = FfnChannels(encoderLayer, P + ".encoder.transformerlayers");
            Order(encoderLayer, P + ".encoder.transformerlayers", "self_attn", "norm", "ffn", "norm");
            SineEncoding(pixel, P, feat);

            var decoder = Obj(head, "transformer_decoder", H);
            const string D = H + ".transformer_decoder";
            Expect(decoder, "type", "DetrTransformerDecoder", D);
            var decoderLayer = Obj(decoder, "transformerlayers", D);
            var decoderAttention = Obj(decoderLayer, "attn_cfgs", D + ".transformerlayers");
            const string DA = D + ".transformerlayers.attn_cfgs";
            Expect(decoderAttention, "type", "MultiheadAttention", DA);
            if (Opt(decoderAttention, "embed_dims", feat) != feat) Fail($"{DA}.embed_dims must be feat_channels {feat}");
            if (Opt(decoderAttention, "num_heads", 8) != heads)
                Fail($"{DA}.num_heads {Opt(decoderAttention, "num_heads", 8)} differs from the pixel decoder's {heads}; this network uses one head count for both");
            NoDropout(decoderAttention, DA, "attn_drop", "proj_drop");
            var decoderFfn = FfnChannels(decoderLayer, D + ".transformerlayers");
            Order(decoderLayer, D + ".transformerlayers", "cross_attn", "norm", "self_attn", "norm", "ffn", "norm");
            SineEncoding(head, H, feat);

            var lossCls = head["loss_cls"] as JsonObject;
            var classWeight = lossCls?["class_weight"] is JsonArray weights ? weights.Select(w => w!.GetValue<double>()).ToArray() : null;
            if (classWeight is not null)
            {
                if (classWeight.Length != things + stuff + 1) Fail($"{H}.loss_cls.class_weight has {classWeight.Length} entries for {things + stuff} classes + no-object");
                if (classWeight.Take(things + stuff).Any(w => w != 1.0)) Fail($"{H}.loss_cls.class_weight must be 1 for every class (only the no-object weight may differ)");
            }
            var train = model["train_cfg"] as JsonObject;
            var d = new Mask2FormerConfig();
            var labels = Labels(root, things + stuff);
            var isThing = root["isthing"] is JsonArray flags
                ? flags.Select(f => f!.GetValue<bool>()).ToArray()
                : Enumerable.Range(0, things + stuff).Select(i => i < things).ToArray();
            if (isThing.Length != things + stuff) Fail($"isthing has {isThing.Length} entries for {things + stuff} classes");
            if (isThing.Select((t, i) => t != i < things).Any(x => x)) Fail($"isthing must mark the first num_things_classes = {things} classes as things and the rest as stuff (mmdetection's order)");
            var config = new Mask2FormerConfig
            {
                Backbone = backbone,
                FeatureSize = feat,
                HiddenDim = feat,
                MaskFeatureSize = Req<int>(head, "out_channels", H),
                EncoderFeedforwardDim = encoderFfn,
                EncoderLayers = Req<int>(encoder, "num_layers", P + ".encoder"),
                DecoderLayers = Req<int>(decoder, "num_layers", D) + 1,
                NumAttentionHeads = heads,
                DimFeedforward = decoderFfn,
                NumQueries = Opt(head, "num_queries", 100),
                EnforceInputProjection = head["enforce_decoder_input_project"]?.GetValue<bool>() ?? false,
                PixelDecoderNormGroups = Opt(norm, "num_groups", Mask2FormerConfig.GroupNormGroups),
                NoObjectWeight = classWeight?[^1] ?? d.NoObjectWeight,
                ClassWeight = LossWeight(lossCls, d.ClassWeight),
                MaskWeight = LossWeight(head["loss_mask"] as JsonObject, d.MaskWeight),
                DiceWeight = LossWeight(head["loss_dice"] as JsonObject, d.DiceWeight),
                TrainNumPoints = train is null ? d.TrainNumPoints : Opt(train, "num_points", d.TrainNumPoints),
                OversampleRatio = train?["oversample_ratio"]?.GetValue<double>() ?? d.OversampleRatio,
                ImportanceSampleRatio = train?["importance_sample_ratio"]?.GetValue<double>() ?? d.ImportanceSampleRatio,
                Labels = labels,
                // mmdetection carries no dataset category ids: class index + 1, with the thing flags.
                Categories = labels.Select((name, i) => new Mask2FormerLabel(i + 1, name, isThing[i])).ToArray(),
            };
            config.Validate();
            var normCfg = root["img_norm_cfg"] as JsonObject;
            var mean = normCfg?["mean"] is JsonArray m ? m.Select(x => x!.GetValue<double>()).ToArray() : new[] { 123.675, 116.28, 103.53 };
            var std = normCfg?["std"] is JsonArray s ? s.Select(x => x!.GetValue<double>()).ToArray() : new[] { 58.395, 57.12, 57.375 };
            if (mean.Length != 3 || std.Length != 3) Fail("img_norm_cfg mean and std must have 3 entries");
            return new MmdetConfig(config, isThing, mean, std, model["test_cfg"] as JsonObject);
        }

        private VitAdapterConfig ReadBackbone(JsonObject b)
        {
            const string B = "model.backbone";
            Expect(b, "type", "BEiTAdapter", B);
            if (b["use_abs_pos_emb"]?.GetValue<bool>() == true) Fail($"{B}.use_abs_pos_emb true is not supported (the released BEiT adapters use relative position bias only)");
            if (b["use_shared_rel_pos_bias"]?.GetValue<bool>() == true) Fail($"{B}.use_shared_rel_pos_bias true is not supported");
            if (b["with_cffn"]?.GetValue<bool>() == false) Fail($"{B}.with_cffn false is not supported");
            if (b["add_vit_feature"]?.GetValue<bool>() == false) Fail($"{B}.add_vit_feature false is not supported");
            if (b["version"] is { } version && version.GetValue<string>() != "new") Fail($"{B}.version '{version}' is not supported (only 'new')");
            if (b["hybrid_backbone"] is { } hybrid && hybrid.GetValueKind() != JsonValueKind.Null) Fail($"{B}.hybrid_backbone is not supported");
            NoDropout(b, B, "drop_rate", "attn_drop_rate");
            var depth = Opt(b, "depth", 12);
            // BEiT accepts one value for every block or a list.
            var windowAttention = b["window_attn"] switch
            {
                JsonArray a => a.Select(x => x!.GetValue<bool>()).ToArray(),
                { } one => Enumerable.Repeat(one.GetValue<bool>(), depth).ToArray(),
                null => Enumerable.Repeat(false, depth).ToArray(),
            };
            var windowSize = b["window_size"] switch
            {
                JsonArray a => a.Select(x => x!.GetValue<int>()).ToArray(),
                { } one => Enumerable.Repeat(one.GetValue<int>(), depth).ToArray(),
                null => Enumerable.Repeat(14, depth).ToArray(),
            };
            var interactions = b["interaction_indexes"] as JsonArray ?? throw Fail($"{B}.interaction_indexes is missing");
            return new VitAdapterConfig
            {
                PatchSize = Opt(b, "patch_size", 16),
                NumChannels = Opt(b, "in_chans", 3),
                EmbedDim = Opt(b, "embed_dim", 768),
                Depth = depth,
                NumHeads = Opt(b, "num_heads", 12),
                MlpRatio = b["mlp_ratio"]?.GetValue<double>() ?? 4.0,
                QkvBias = b["qkv_bias"]?.GetValue<bool>() ?? false,
                InitValues = b["init_values"]?.GetValue<double>() ?? 0.0,
                DropPathRate = b["drop_path_rate"]?.GetValue<double>() ?? 0.0,
                WindowAttention = windowAttention,
                WindowSize = windowSize,
                InteractionIndexes = interactions.Select(r => (IReadOnlyList<int>)((r as JsonArray) ?? throw Fail($"{B}.interaction_indexes must hold [first, last] pairs")).Select(x => x!.GetValue<int>()).ToArray()).ToArray(),
                ConvInplane = Opt(b, "conv_inplane", 64),
                NumPoints = Opt(b, "n_points", 4),
                DeformNumHeads = Opt(b, "deform_num_heads", 6),
                DeformRatio = b["deform_ratio"]?.GetValue<double>() ?? 1.0,
                CffnRatio = b["cffn_ratio"]?.GetValue<double>() ?? 0.25,
            };
        }

        private string[] Labels(JsonObject root, int count)
        {
            if (root["classes"] is not JsonArray classes)
                return Enumerable.Range(0, count).Select(i => "class_" + i.ToString(CultureInfo.InvariantCulture)).ToArray();
            var labels = classes.Select(c => c?.GetValue<string>() ?? throw Fail("classes holds a null")).ToArray();
            if (labels.Length != count) Fail($"classes has {labels.Length} names but the head has num_things_classes + num_stuff_classes = {count}");
            return labels;
        }

        private int FfnChannels(JsonObject layer, string where)
        {
            if (layer["ffn_cfgs"] is not JsonObject ffn) return Req<int>(layer, "feedforward_channels", where);
            var at = where + ".ffn_cfgs";
            NoDropout(ffn, at, "ffn_drop");
            if (ffn["act_cfg"] is JsonObject act) Expect(act, "type", "ReLU", at + ".act_cfg");
            if (Opt(ffn, "num_fcs", 2) != 2) Fail($"{at}.num_fcs must be 2");
            return Req<int>(ffn, "feedforward_channels", at);
        }

        private void Order(JsonObject layer, string where, params string[] expected)
        {
            var order = layer["operation_order"] is JsonArray a ? a.Select(x => x!.GetValue<string>()).ToArray() : null;
            if (order is null || !order.SequenceEqual(expected))
                Fail($"{where}.operation_order must be ({string.Join(", ", expected)}) (post-norm, as the released model), got ({string.Join(", ", order ?? Array.Empty<string>())})");
        }

        private void SineEncoding(JsonObject owner, string where, int feat)
        {
            if (owner["positional_encoding"] is not JsonObject encoding) return;
            Expect(encoding, "type", "SinePositionalEncoding", where + ".positional_encoding");
            if (Opt(encoding, "num_feats", 128) != feat / 2) Fail($"{where}.positional_encoding.num_feats must be feat_channels / 2 = {feat / 2}");
            if (encoding["normalize"]?.GetValue<bool>() != true) Fail($"{where}.positional_encoding.normalize must be true");
            if (encoding["offset"] is { } offset && offset.GetValue<double>() != 0) Fail($"{where}.positional_encoding.offset must be 0");
        }

        private void NoDropout(JsonObject o, string where, params string[] names)
        {
            foreach (var name in names)
                if (o[name] is { } v && v.GetValueKind() == JsonValueKind.Number && v.GetValue<double>() != 0)
                    Fail($"{where}.{name} = {v} is not supported (this network has no dropout there)");
        }

        private static double LossWeight(JsonObject? loss, double fallback) => loss?["loss_weight"]?.GetValue<double>() ?? fallback;

        private JsonObject Obj(JsonObject o, string name, string where) =>
            o[name] as JsonObject ?? throw Fail($"{Join(where, name)} is missing or not an object");

        private void Expect(JsonObject o, string name, string value, string where)
        {
            var found = o[name]?.GetValue<string>();
            if (found != value) Fail($"{Join(where, name)} is '{found}'; only '{value}' is supported");
        }

        private T Req<T>(JsonObject o, string name, string where) =>
            o[name] is { } n ? n.GetValue<T>() : throw Fail($"{Join(where, name)} is missing");

        private static int Opt(JsonObject o, string name, int fallback) => o[name] is { } n ? n.GetValue<int>() : fallback;

        private int[] Ints(JsonObject o, string name, string where) =>
            o[name] is JsonArray a ? a.Select(x => x!.GetValue<int>()).ToArray() : throw Fail($"{Join(where, name)} is missing or not a list");

        private static string Join(string where, string name) => where.Length == 0 ? name : where + "." + name;

        private DataFormatException Fail(string message) => throw new DataFormatException(message, filePath);
    }
}
