using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.ML.Mask2Former.Scoring;
using Microsoft.ML.Mask2Former.Training.Modeling.ResNet;
using Microsoft.ML.Mask2Former.Training.Modeling.Swin;
using Microsoft.ML.Mask2Former.Training.Modeling.VitAdapter;

namespace Microsoft.ML.Mask2Former.Training.Modeling;

/// <summary>
/// The shape of a Mask2Former network, read from (and written as) the <c>config.json</c> of a
/// Hugging Face <c>Mask2FormerForUniversalSegmentation</c> checkpoint. Defaults are Hugging Face's
/// (which are the original Mask2Former's); <see cref="Presets"/> holds named configurations.
/// </summary>
public sealed record Mask2FormerConfig
{
    /// <summary>The backbone (Swin or ResNet).</summary>
    public BackboneConfig Backbone { get; init; } = new SwinConfig();

    /// <summary>Channels of the pixel decoder (<c>feature_size</c>, 256).</summary>
    public int FeatureSize { get; init; } = 256;

    /// <summary>Channels of the per-pixel mask embedding (<c>mask_feature_size</c>, 256).</summary>
    public int MaskFeatureSize { get; init; } = 256;

    /// <summary>Width of the transformer decoder (<c>hidden_dim</c>, 256).</summary>
    public int HiddenDim { get; init; } = 256;

    /// <summary>FFN width of the deformable encoder layers (<c>encoder_feedforward_dim</c>, 1024).</summary>
    public int EncoderFeedforwardDim { get; init; } = 1024;

    /// <summary>Deformable encoder layers of the pixel decoder (<c>encoder_layers</c>, 6).</summary>
    public int EncoderLayers { get; init; } = 6;

    /// <summary>
    /// Hugging Face's <c>decoder_layers</c> (10). As in the reference implementation the
    /// transformer decoder has <c>decoder_layers - 1</c> masked-attention layers
    /// (see <see cref="TransformerDecoderLayers"/>).
    /// </summary>
    public int DecoderLayers { get; init; } = 10;

    /// <summary>Attention heads of the deformable encoder and of the transformer decoder (8).</summary>
    public int NumAttentionHeads { get; init; } = 8;

    /// <summary>FFN width of the transformer decoder layers (<c>dim_feedforward</c>, 2048).</summary>
    public int DimFeedforward { get; init; } = 2048;

    /// <summary>Object queries (<c>num_queries</c>, 100; 200 for Swin-L).</summary>
    public int NumQueries { get; init; } = 100;

    /// <summary>Output stride of the mask features (<c>common_stride</c>, 4).</summary>
    public int CommonStride { get; init; } = 4;

    /// <summary>Strides of the backbone feature maps (<c>feature_strides</c>, 4, 8, 16, 32).</summary>
    public IReadOnlyList<int> FeatureStrides { get; init; } = new[] { 4, 8, 16, 32 };

    /// <summary>Whether decoder layers normalise before each block (<c>pre_norm</c>, false).</summary>
    public bool PreNorm { get; init; }

    /// <summary>Whether a 1×1 projection is used even when <see cref="FeatureSize"/> equals <see cref="HiddenDim"/>.</summary>
    public bool EnforceInputProjection { get; init; }

    /// <summary>Dropout of the decoder (<c>dropout</c>, 0).</summary>
    public double Dropout { get; init; }

    /// <summary>Activation of the decoder FFN (<c>activation_function</c>, "relu").</summary>
    public string ActivationFunction { get; init; } = "relu";

    /// <summary>Cross-entropy weight of the "no object" class (<c>no_object_weight</c>, 0.1).</summary>
    public double NoObjectWeight { get; init; } = 0.1;

    /// <summary>Loss weight of the classification term (<c>class_weight</c>, 2).</summary>
    public double ClassWeight { get; init; } = 2.0;

    /// <summary>Loss weight of the mask binary cross-entropy (<c>mask_weight</c>, 5).</summary>
    public double MaskWeight { get; init; } = 5.0;

    /// <summary>Loss weight of the dice term (<c>dice_weight</c>, 5).</summary>
    public double DiceWeight { get; init; } = 5.0;

    /// <summary>Points sampled per mask for the loss (<c>train_num_points</c>, 12544).</summary>
    public int TrainNumPoints { get; init; } = 12544;

    /// <summary>Over-sampling ratio of the point sampling (<c>oversample_ratio</c>, 3).</summary>
    public double OversampleRatio { get; init; } = 3.0;

    /// <summary>Share of points taken where the prediction is most uncertain (<c>importance_sample_ratio</c>, 0.75).</summary>
    public double ImportanceSampleRatio { get; init; } = 0.75;

    /// <summary>Label names by class index (<c>id2label</c>); its size is the number of classes.</summary>
    public IReadOnlyList<string> Labels { get; init; } = Enumerable.Range(0, 133).Select(i => $"LABEL_{i}").ToArray();

    /// <summary>Number of classes, without the "no object" class.</summary>
    public int NumLabels => Labels.Count;

    /// <summary>
    /// The data set's category behind each class (entry i describes class i: COCO category id,
    /// name, thing or stuff), written as <c>categories</c> in <c>config.json</c>; <see langword="null"/>
    /// when the checkpoint does not say (Hugging Face configs name the classes only). A trained run
    /// carries its data set's ids here, so export, scoring and COCO output keep them (ids with gaps
    /// included). Names equal <see cref="Labels"/>.
    /// </summary>
    public IReadOnlyList<Mask2FormerLabel>? Categories { get; init; }

    /// <summary>
    /// The categories of the classes: <see cref="Categories"/> when known, else the default label
    /// set (id = class index + 1, every class a thing) with the class names.
    /// </summary>
    public IReadOnlyList<Mask2FormerLabel> CategoriesOrDefault() =>
        Categories ?? Labels.Select((name, i) => new Mask2FormerLabel(i + 1, name, true)).ToArray();

    /// <summary>Masked-attention layers the transformer decoder actually has (<c>decoder_layers - 1</c>).</summary>
    public int TransformerDecoderLayers => DecoderLayers - 1;

    /// <summary>Feature levels read by the deformable encoder and the decoder (3, strides 8-32).</summary>
    public const int FeatureLevels = 3;

    /// <summary>Sampling points per head and level of the deformable attention (4).</summary>
    public const int DeformablePoints = 4;

    /// <summary>Groups of the pixel decoder's GroupNorms (32).</summary>
    public const int GroupNormGroups = 32;

    /// <summary>Groups of the pixel decoder's GroupNorms (<see cref="GroupNormGroups"/>; an mmdetection config's <c>norm_cfg.num_groups</c> may differ).</summary>
    public int PixelDecoderNormGroups { get; init; } = GroupNormGroups;

    /// <summary>Checks that the dimensions fit together.</summary>
    /// <exception cref="ArgumentException">Lists every inconsistency found.</exception>
    public void Validate()
    {
        var problems = new List<string>();
        Backbone.Check(problems);
        Positive(problems, FeatureSize, "feature_size");
        Positive(problems, MaskFeatureSize, "mask_feature_size");
        Positive(problems, HiddenDim, "hidden_dim");
        Positive(problems, EncoderFeedforwardDim, "encoder_feedforward_dim");
        Positive(problems, DimFeedforward, "dim_feedforward");
        Positive(problems, NumQueries, "num_queries");
        Positive(problems, NumAttentionHeads, "num_attention_heads");
        if (EncoderLayers < 0) problems.Add($"encoder_layers must not be negative, got {EncoderLayers}");
        if (DecoderLayers < 2) problems.Add($"decoder_layers must be at least 2 (the decoder has decoder_layers - 1 layers), got {DecoderLayers}");
        if (NumLabels < 1) problems.Add("id2label must name at least one class");
        if (Categories is { } categories)
        {
            if (categories.Count != NumLabels) problems.Add($"categories has {categories.Count} entries but id2label {NumLabels} (entry i describes class i)");
            else
            {
                for (var i = 0; i < NumLabels; i++)
                    if (categories[i].Name != Labels[i]) problems.Add($"categories[{i}] is named '{categories[i].Name}' but id2label[{i}] is '{Labels[i]}'");
            }
            var twice = categories.GroupBy(c => c.Id).FirstOrDefault(g => g.Count() > 1);
            if (twice is not null) problems.Add($"category id {twice.Key} appears {twice.Count()} times in categories");
        }
        if (NumAttentionHeads > 0)
        {
            if (FeatureSize % NumAttentionHeads != 0) problems.Add($"feature_size {FeatureSize} is not divisible by num_attention_heads {NumAttentionHeads}");
            if (HiddenDim % NumAttentionHeads != 0) problems.Add($"hidden_dim {HiddenDim} is not divisible by num_attention_heads {NumAttentionHeads}");
        }
        if (PixelDecoderNormGroups <= 0 || FeatureSize % PixelDecoderNormGroups != 0) problems.Add($"feature_size {FeatureSize} is not divisible by the {PixelDecoderNormGroups} GroupNorm groups");
        if (!FeatureStrides.SequenceEqual(new[] { 4, 8, 16, 32 })) problems.Add($"feature_strides must be [4, 8, 16, 32], got [{string.Join(", ", FeatureStrides)}]");
        if (CommonStride != 4) problems.Add($"common_stride must be 4 (one FPN level above stride 8), got {CommonStride}");
        if (Backbone.OutChannels.Count != 4) problems.Add($"the backbone must give 4 feature maps, it gives {Backbone.OutChannels.Count}");
        if (ActivationFunction != "relu") problems.Add($"activation_function '{ActivationFunction}' is not supported (only relu)");
        if (problems.Count > 0)
            throw new ArgumentException("Inconsistent Mask2Former configuration: " + string.Join("; ", problems) + ".");
    }

    private static void Positive(List<string> problems, int value, string name)
    {
        if (value <= 0) problems.Add($"{name} must be positive, got {value}");
    }

    /// <summary>
    /// Reads a Hugging Face <c>config.json</c>. When it names no <see cref="Categories"/> and a
    /// <c>labels.json</c> (the label-set format of <c>m2f segment --labels</c>, which <c>m2f train</c>
    /// writes into its run folder) lies beside it, the categories come from there.
    /// </summary>
    /// <exception cref="DataFormatException">The file is not valid JSON, misses a field that has no default, or its dimensions do not fit together; or the labels.json beside it disagrees with it.</exception>
    public static Mask2FormerConfig Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var full = Path.GetFullPath(path);
        var config = Parse(File.ReadAllText(full), full);
        var labelsFile = Path.Combine(Path.GetDirectoryName(full)!, LabelsFileName);
        if (config.Categories is not null || !File.Exists(labelsFile)) return config;
        IReadOnlyList<Mask2FormerLabel> categories;
        try
        {
            categories = Mask2FormerLabelSet.Load(labelsFile, out _, out _);
        }
        catch (FormatException e)
        {
            throw new DataFormatException(e.Message, labelsFile, inner: e);
        }
        if (categories.Count != config.NumLabels)
            throw new DataFormatException($"{LabelsFileName} describes {categories.Count} categories but config.json has {config.NumLabels} classes (entry i describes class i)", labelsFile);
        return config.WithCategories(categories);
    }

    /// <summary>The label-set file a model folder may hold beside <c>config.json</c>.</summary>
    public const string LabelsFileName = "labels.json";

    /// <summary>A copy of this configuration with <paramref name="categories"/> as its <see cref="Categories"/> (and their names as <see cref="Labels"/>).</summary>
    public Mask2FormerConfig WithCategories(IReadOnlyList<Mask2FormerLabel> categories)
    {
        ArgumentNullException.ThrowIfNull(categories);
        return this with { Labels = categories.Select(c => c.Name).ToArray(), Categories = categories.ToArray() };
    }

    /// <summary>Parses the text of a Hugging Face <c>config.json</c> (or of an mmdetection one, see <see cref="MmdetConfig"/>).</summary>
    /// <param name="json">The JSON text.</param>
    /// <param name="filePath">Where it came from, for messages.</param>
    /// <exception cref="DataFormatException">The text is not a valid, consistent Mask2Former configuration.</exception>
    public static Mask2FormerConfig Parse(string json, string? filePath = null)
    {
        var root = ConfigJson.ParseObject(json, filePath);
        if (MmdetConfig.IsMmdet(root)) return MmdetConfig.Read(root, filePath).Model;
        return ConfigJson.Read(filePath, () =>
        {
            var modelType = Str(root, "model_type", "mask2former");
            if (modelType != "mask2former")
                throw new DataFormatException($"model_type is '{modelType}', expected 'mask2former'", filePath);
            var d = new Mask2FormerConfig();
            var config = new Mask2FormerConfig
            {
                Backbone = ParseBackbone(root["backbone_config"], filePath),
                FeatureSize = Int(root, "feature_size", d.FeatureSize),
                MaskFeatureSize = Int(root, "mask_feature_size", d.MaskFeatureSize),
                HiddenDim = root["hidden_dim"] is null ? Int(root, "hidden_size", d.HiddenDim) : Int(root, "hidden_dim", d.HiddenDim),
                EncoderFeedforwardDim = Int(root, "encoder_feedforward_dim", d.EncoderFeedforwardDim),
                EncoderLayers = Int(root, "encoder_layers", d.EncoderLayers),
                DecoderLayers = Int(root, "decoder_layers", d.DecoderLayers),
                NumAttentionHeads = Int(root, "num_attention_heads", d.NumAttentionHeads),
                DimFeedforward = Int(root, "dim_feedforward", d.DimFeedforward),
                NumQueries = Int(root, "num_queries", d.NumQueries),
                CommonStride = Int(root, "common_stride", d.CommonStride),
                FeatureStrides = Ints(root, "feature_strides", d.FeatureStrides),
                PreNorm = Bool(root, "pre_norm", d.PreNorm),
                EnforceInputProjection = Bool(root, "enforce_input_projection", d.EnforceInputProjection),
                Dropout = Dbl(root, "dropout", d.Dropout),
                ActivationFunction = Str(root, "activation_function", d.ActivationFunction),
                NoObjectWeight = Dbl(root, "no_object_weight", d.NoObjectWeight),
                ClassWeight = Dbl(root, "class_weight", d.ClassWeight),
                MaskWeight = Dbl(root, "mask_weight", d.MaskWeight),
                DiceWeight = Dbl(root, "dice_weight", d.DiceWeight),
                TrainNumPoints = Int(root, "train_num_points", d.TrainNumPoints),
                OversampleRatio = Dbl(root, "oversample_ratio", d.OversampleRatio),
                ImportanceSampleRatio = Dbl(root, "importance_sample_ratio", d.ImportanceSampleRatio),
                Labels = ParseLabels(root["id2label"], filePath) ?? d.Labels,
                Categories = ParseCategories(root["categories"], filePath),
                PixelDecoderNormGroups = Int(root, "pixel_decoder_norm_groups", d.PixelDecoderNormGroups),
            };
            config.Validate();
            return config;
        });
    }

    private static BackboneConfig ParseBackbone(JsonNode? node, string? filePath)
    {
        if (node is null) return new SwinConfig();
        if (node is not JsonObject b) throw new DataFormatException("backbone_config is not a JSON object", filePath);
        var type = Str(b, "model_type", "swin");
        var outFeatures = b["out_features"] is JsonArray features ? features.Select(f => f!.GetValue<string>()).ToArray() : new[] { "stage1", "stage2", "stage3", "stage4" };
        switch (type)
        {
            case "swin":
                var s = new SwinConfig();
                var swin = new SwinConfig
                {
                    EmbedDim = Int(b, "embed_dim", s.EmbedDim),
                    Depths = Ints(b, "depths", s.Depths),
                    NumHeads = Ints(b, "num_heads", s.NumHeads),
                    WindowSize = Int(b, "window_size", s.WindowSize),
                    PatchSize = Int(b, "patch_size", s.PatchSize),
                    NumChannels = Int(b, "num_channels", s.NumChannels),
                    MlpRatio = Dbl(b, "mlp_ratio", s.MlpRatio),
                    QkvBias = Bool(b, "qkv_bias", s.QkvBias),
                    LayerNormEps = Dbl(b, "layer_norm_eps", s.LayerNormEps),
                    DropPathRate = Dbl(b, "drop_path_rate", s.DropPathRate),
                    HiddenAct = Str(b, "hidden_act", s.HiddenAct),
                    OutFeatures = outFeatures,
                };
                if (b["hidden_size"] is not null && Int(b, "hidden_size", 0) != swin.StageDim(swin.Depths.Count - 1))
                    throw new DataFormatException($"backbone_config hidden_size {Int(b, "hidden_size", 0)} disagrees with embed_dim {swin.EmbedDim} × 2^{swin.Depths.Count - 1} = {swin.StageDim(swin.Depths.Count - 1)}", filePath);
                return swin;
            case "resnet":
                var r = new ResNetConfig();
                var layerType = Str(b, "layer_type", "bottleneck");
                if (layerType != "bottleneck") throw new DataFormatException($"resnet layer_type '{layerType}' is not supported (only bottleneck)", filePath);
                return new ResNetConfig
                {
                    Depths = Ints(b, "depths", r.Depths),
                    HiddenSizes = Ints(b, "hidden_sizes", r.HiddenSizes),
                    EmbeddingSize = Int(b, "embedding_size", r.EmbeddingSize),
                    NumChannels = Int(b, "num_channels", r.NumChannels),
                    OutFeatures = outFeatures,
                };
            case VitAdapterConfig.Type:
                return VitAdapterConfigJson.Read(b, outFeatures, filePath);
            default:
                throw new DataFormatException($"backbone model_type '{type}' is not supported (swin, resnet or {VitAdapterConfig.Type})", filePath);
        }
    }

    private static Mask2FormerLabel[]? ParseCategories(JsonNode? node, string? filePath)
    {
        if (node is null) return null;
        try
        {
            return Mask2FormerLabelSet.Parse(node.ToJsonString(), out _, out _).ToArray();
        }
        catch (FormatException e)
        {
            throw new DataFormatException($"categories: {e.Message}", filePath, inner: e);
        }
    }

    private static string[]? ParseLabels(JsonNode? node, string? filePath)
    {
        if (node is null) return null;
        if (node is not JsonObject map) throw new DataFormatException("id2label is not a JSON object", filePath);
        var labels = new string[map.Count];
        foreach (var (key, value) in map)
        {
            if (!int.TryParse(key, NumberStyles.None, CultureInfo.InvariantCulture, out var index) || index < 0 || index >= labels.Length)
                throw new DataFormatException($"id2label key '{key}' is not a class index in 0..{labels.Length - 1}", filePath);
            labels[index] = value?.GetValue<string>() ?? throw new DataFormatException($"id2label '{key}' is null", filePath);
        }
        return labels;
    }

    internal static int Int(JsonObject o, string name, int fallback) => o[name] is { } n ? n.GetValue<int>() : fallback;

    internal static double Dbl(JsonObject o, string name, double fallback) => o[name] is { } n ? n.GetValue<double>() : fallback;

    internal static bool Bool(JsonObject o, string name, bool fallback) => o[name] is { } n ? n.GetValue<bool>() : fallback;

    internal static string Str(JsonObject o, string name, string fallback) => o[name] is { } n ? n.GetValue<string>() : fallback;

    internal static int[] Ints(JsonObject o, string name, IReadOnlyList<int> fallback) =>
        o[name] is JsonArray a ? a.Select(x => x!.GetValue<int>()).ToArray()
        : o[name] is null ? fallback.ToArray()
        : throw new InvalidOperationException($"'{name}' is not an array");

    /// <summary>The Hugging Face <c>config.json</c> text of this configuration (loads into <c>Mask2FormerForUniversalSegmentation</c>).</summary>
    public string ToJson()
    {
        var backbone = Backbone switch
        {
            SwinConfig s => new JsonObject
            {
                ["model_type"] = "swin",
                ["embed_dim"] = s.EmbedDim,
                ["depths"] = new JsonArray(s.Depths.Select(x => (JsonNode)x).ToArray()),
                ["num_heads"] = new JsonArray(s.NumHeads.Select(x => (JsonNode)x).ToArray()),
                ["window_size"] = s.WindowSize,
                ["patch_size"] = s.PatchSize,
                ["num_channels"] = s.NumChannels,
                ["mlp_ratio"] = s.MlpRatio,
                ["qkv_bias"] = s.QkvBias,
                ["layer_norm_eps"] = s.LayerNormEps,
                ["drop_path_rate"] = s.DropPathRate,
                ["hidden_act"] = s.HiddenAct,
                ["hidden_size"] = s.StageDim(s.Depths.Count - 1),
                ["use_absolute_embeddings"] = false,
                ["out_features"] = new JsonArray(s.OutFeatures.Select(x => (JsonNode)x).ToArray()),
            },
            ResNetConfig r => new JsonObject
            {
                ["model_type"] = "resnet",
                ["layer_type"] = "bottleneck",
                ["depths"] = new JsonArray(r.Depths.Select(x => (JsonNode)x).ToArray()),
                ["hidden_sizes"] = new JsonArray(r.HiddenSizes.Select(x => (JsonNode)x).ToArray()),
                ["embedding_size"] = r.EmbeddingSize,
                ["num_channels"] = r.NumChannels,
                ["out_features"] = new JsonArray(r.OutFeatures.Select(x => (JsonNode)x).ToArray()),
            },
            VitAdapterConfig v => VitAdapterConfigJson.Write(v),
            _ => throw new NotSupportedException(Backbone.GetType().Name),
        };
        var id2label = new JsonObject();
        var label2id = new JsonObject();
        for (var i = 0; i < Labels.Count; i++)
        {
            id2label[i.ToString(CultureInfo.InvariantCulture)] = Labels[i];
            label2id[Labels[i]] = i;
        }
        var root = new JsonObject
        {
            ["model_type"] = "mask2former",
            ["architectures"] = new JsonArray("Mask2FormerForUniversalSegmentation"),
            ["backbone_config"] = backbone,
            ["feature_size"] = FeatureSize,
            ["mask_feature_size"] = MaskFeatureSize,
            ["hidden_dim"] = HiddenDim,
            ["encoder_feedforward_dim"] = EncoderFeedforwardDim,
            ["encoder_layers"] = EncoderLayers,
            ["decoder_layers"] = DecoderLayers,
            ["num_attention_heads"] = NumAttentionHeads,
            ["dim_feedforward"] = DimFeedforward,
            ["num_queries"] = NumQueries,
            ["common_stride"] = CommonStride,
            ["feature_strides"] = new JsonArray(FeatureStrides.Select(x => (JsonNode)x).ToArray()),
            ["pre_norm"] = PreNorm,
            ["enforce_input_projection"] = EnforceInputProjection,
            ["dropout"] = Dropout,
            ["activation_function"] = ActivationFunction,
            ["no_object_weight"] = NoObjectWeight,
            ["class_weight"] = ClassWeight,
            ["mask_weight"] = MaskWeight,
            ["dice_weight"] = DiceWeight,
            ["train_num_points"] = TrainNumPoints,
            ["oversample_ratio"] = OversampleRatio,
            ["importance_sample_ratio"] = ImportanceSampleRatio,
            ["use_auxiliary_loss"] = true,
            ["output_auxiliary_logits"] = true,
            ["id2label"] = id2label,
            ["label2id"] = label2id,
        };
        if (Categories is { } categories)
            root["categories"] = new JsonArray(categories.Select(c => (JsonNode)new JsonObject { ["id"] = c.Id, ["name"] = c.Name, ["isthing"] = c.IsThing ? 1 : 0 }).ToArray());
        if (PixelDecoderNormGroups != GroupNormGroups) root["pixel_decoder_norm_groups"] = PixelDecoderNormGroups;
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }
}
