using System.Text.Json.Nodes;
using static Microsoft.ML.Mask2Former.Training.Modeling.Mask2FormerConfig;

namespace Microsoft.ML.Mask2Former.Training.Modeling.VitAdapter;

/// <summary>
/// The <c>backbone_config</c> of our <c>config.json</c> for a ViT-Adapter backbone
/// (<c>"model_type": "beit_adapter"</c>), with upstream's field names.
/// </summary>
internal static class VitAdapterConfigJson
{
    public static VitAdapterConfig Read(JsonObject b, IReadOnlyList<string> outFeatures, string? filePath)
    {
        var d = new VitAdapterConfig();
        var windows = b["window_attn"] is JsonArray w ? w.Select(x => x!.GetValue<bool>()).ToArray() : d.WindowAttention.ToArray();
        var interactions = b["interaction_indexes"] is JsonArray ranges
            ? ranges.Select(r => (IReadOnlyList<int>)(r as JsonArray ?? throw new DataFormatException("interaction_indexes must be a list of [first, last] pairs", filePath)).Select(x => x!.GetValue<int>()).ToArray()).ToArray()
            : d.InteractionIndexes;
        return new VitAdapterConfig
        {
            PatchSize = Int(b, "patch_size", d.PatchSize),
            NumChannels = Int(b, "num_channels", d.NumChannels),
            EmbedDim = Int(b, "embed_dim", d.EmbedDim),
            Depth = Int(b, "depth", d.Depth),
            NumHeads = Int(b, "num_heads", d.NumHeads),
            MlpRatio = Dbl(b, "mlp_ratio", d.MlpRatio),
            QkvBias = Bool(b, "qkv_bias", d.QkvBias),
            InitValues = Dbl(b, "init_values", d.InitValues),
            DropPathRate = Dbl(b, "drop_path_rate", d.DropPathRate),
            WindowAttention = windows,
            WindowSize = Ints(b, "window_size", d.WindowSize),
            InteractionIndexes = interactions,
            ConvInplane = Int(b, "conv_inplane", d.ConvInplane),
            NumPoints = Int(b, "n_points", d.NumPoints),
            DeformNumHeads = Int(b, "deform_num_heads", d.DeformNumHeads),
            DeformRatio = Dbl(b, "deform_ratio", d.DeformRatio),
            CffnRatio = Dbl(b, "cffn_ratio", d.CffnRatio),
            OutFeatures = outFeatures,
        };
    }

    public static JsonObject Write(VitAdapterConfig v)
    {
        static JsonArray Array<T>(IEnumerable<T> items) => new(items.Select(x => JsonValue.Create(x)).ToArray<JsonNode?>());
        return new JsonObject
        {
            ["model_type"] = VitAdapterConfig.Type,
            ["patch_size"] = v.PatchSize,
            ["num_channels"] = v.NumChannels,
            ["embed_dim"] = v.EmbedDim,
            ["depth"] = v.Depth,
            ["num_heads"] = v.NumHeads,
            ["mlp_ratio"] = v.MlpRatio,
            ["qkv_bias"] = v.QkvBias,
            ["init_values"] = v.InitValues,
            ["drop_path_rate"] = v.DropPathRate,
            ["window_attn"] = Array(v.WindowAttention),
            ["window_size"] = Array(v.WindowSize),
            ["interaction_indexes"] = new JsonArray(v.InteractionIndexes.Select(r => (JsonNode?)Array(r)).ToArray()),
            ["conv_inplane"] = v.ConvInplane,
            ["n_points"] = v.NumPoints,
            ["deform_num_heads"] = v.DeformNumHeads,
            ["deform_ratio"] = v.DeformRatio,
            ["cffn_ratio"] = v.CffnRatio,
            ["out_features"] = Array(v.OutFeatures),
        };
    }
}
