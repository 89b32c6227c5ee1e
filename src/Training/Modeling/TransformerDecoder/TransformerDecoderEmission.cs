using Microsoft.ML.Mask2Former.Training.Modeling;
using static Microsoft.ML.Mask2Former.Training.Export.OnnxGraphBuilder;
using DataType = Microsoft.ML.Mask2Former.Onnx.TensorProto.Types.DataType;

namespace Microsoft.ML.Mask2Former.Training.Export;

// The masked-attention transformer decoder as ONNX nodes (Mask2FormerOnnxExporter).
internal sealed partial class OnnxEmitter
{
    private (string Classes, string Masks) TransformerForward(string[] multiScale, string maskFeatures)
    {
        const int Levels = Mask2FormerConfig.FeatureLevels;
        var dim = config.HiddenDim;
        var memories = new string[Levels];
        var memoryPositions = new string[Levels];
        var sizes = new (string Height, string Width)[Levels];
        using (var scope = NewDisposeScope())
        {
            var levelEmbed = W($"{Transformer}.level_embed.weight");
            for (var i = 0; i < Levels; i++)
            {
                var x = multiScale[i];
                sizes[i] = (_g.Dim(x, 2), _g.Dim(x, 3));
                memoryPositions[i] = Position(sizes[i].Height, sizes[i].Width, dim / 2, i);
                var projected = weights.ContainsKey($"{Transformer}.input_projections.{i}.weight") ? Conv(x, $"{Transformer}.input_projections.{i}") : x;
                var flat = _g.Add(_g.Reshape(projected, 0, dim, -1), _g.Initializer($"{Transformer}.level_embed.{i}", levelEmbed[i].view(1, -1, 1)));
                memories[i] = _g.Transpose(flat, 0, 2, 1);
            }
        }
        var batch = _g.Dim(maskFeatures, 0);
        var queryPosition = _g.Unsqueeze(_g.Initializer($"{Transformer}.queries_embedder.weight", W($"{Transformer}.queries_embedder.weight")), 0);
        var queryFeatures = _g.Op("Expand", [_g.Unsqueeze(_g.Initializer($"{Transformer}.queries_features.weight", W($"{Transformer}.queries_features.weight")), 0),
            _g.Concat(0, batch, _g.Ints(config.NumQueries, dim))]);

        var decoder = $"{Transformer}.decoder";
        // Bilinear resizing mixes pixels with the same weights in every channel, so resizing the
        // mask features to a level's size and then taking the product with the mask embeddings
        // equals resizing the full-size mask logits: the intermediate layers' attention masks
        // need only [Q, h·w] products at their level's size, not [Q, H/4·W/4] ones.
        var levelFeatures = sizes.Select(size => _g.Reshape(
            _g.ResizeBilinear(maskFeatures, _g.Concat(0, batch, _g.Ints(config.MaskFeatureSize), size.Height, size.Width)), 0, config.MaskFeatureSize, -1)).ToArray();
        var normed = LayerNorm(queryFeatures, decoder + ".layernorm");
        var layers = config.TransformerDecoderLayers;
        var embedded = MaskEmbeddings(normed);
        var hidden = queryFeatures;
        for (var i = 0; i < layers; i++)
        {
            var level = i % Levels;
            hidden = DecoderLayer(hidden, queryPosition, memories[level], memoryPositions[level], AttentionMask(embedded, levelFeatures[level]), $"{decoder}.layers.{i}");
            normed = LayerNorm(hidden, decoder + ".layernorm");
            embedded = MaskEmbeddings(normed);
        }
        var fullSize = _g.Reshape(maskFeatures, 0, config.MaskFeatureSize, -1);
        var maskLogits = _g.Reshape(_g.MatMul(embedded, fullSize), _g.Concat(0, _g.Ints(0, 0), _g.Dim(maskFeatures, 2), _g.Dim(maskFeatures, 3)));
        var classes = Linear(normed, "class_predictor");
        return (classes, maskLogits);
    }

    /// <summary>The mask embedder's MLP over the normalised queries [N, Q, C] → [N, Q, mask features].</summary>
    private string MaskEmbeddings(string queries)
    {
        var prefix = $"{Transformer}.decoder.mask_predictor.mask_embedder";
        var e = _g.Relu(Linear(queries, prefix + ".0.0"));
        e = _g.Relu(Linear(e, prefix + ".1.0"));
        return Linear(e, prefix + ".2.0");
    }

    /// <summary>
    /// The masked attention's mask [N, 1, Q, h·w] (true = attend) from the mask embeddings and the
    /// mask features resized to the attended level [N, mask features, h·w].
    /// </summary>
    private string AttentionMask(string embedded, string levelFeatures)
    {
        var logits = _g.MatMul(embedded, levelFeatures);
        var open = _g.Op("Not", [_g.Op("Less", [_g.Op("Sigmoid", [logits]), _g.Scalar(0.5f)])]);
        // A query masked everywhere attends everywhere instead.
        var openCount = _g.Op("ReduceSum", [_g.Cast(open, DataType.Float), _g.Ints(-1)], Attr("keepdims", 1L));
        var full = _g.Op("Equal", [openCount, _g.Scalar(0f)]);
        return _g.Unsqueeze(_g.Op("Or", [open, full]), 1);
    }

    private string DecoderLayer(string hidden, string queryPosition, string memory, string memoryPosition, string attend, string prefix)
    {
        if (config.PreNorm)
        {
            var n = LayerNorm(hidden, prefix + ".cross_attn_layer_norm");
            hidden = _g.Add(hidden, CrossAttention(_g.Add(n, queryPosition), _g.Add(memory, memoryPosition), memory, attend, prefix + ".cross_attn"));
            n = LayerNorm(hidden, prefix + ".self_attn_layer_norm");
            hidden = _g.Add(hidden, SelfAttention(n, queryPosition, prefix + ".self_attn"));
            n = LayerNorm(hidden, prefix + ".final_layer_norm");
            return _g.Add(hidden, Linear(_g.Relu(Linear(n, prefix + ".fc1")), prefix + ".fc2"));
        }
        hidden = LayerNorm(_g.Add(hidden, CrossAttention(_g.Add(hidden, queryPosition), _g.Add(memory, memoryPosition), memory, attend, prefix + ".cross_attn")),
            prefix + ".cross_attn_layer_norm");
        hidden = LayerNorm(_g.Add(hidden, SelfAttention(hidden, queryPosition, prefix + ".self_attn")), prefix + ".self_attn_layer_norm");
        return LayerNorm(_g.Add(hidden, Linear(_g.Relu(Linear(hidden, prefix + ".fc1")), prefix + ".fc2")), prefix + ".final_layer_norm");
    }

    private string Attention(string q, string k, string v, string? attend)
    {
        var heads = config.NumAttentionHeads;
        var headDim = config.HiddenDim / heads;
        var qh = _g.Transpose(_g.Reshape(q, 0, 0, heads, headDim), 0, 2, 1, 3);
        var kh = _g.Transpose(_g.Reshape(k, 0, 0, heads, headDim), 0, 2, 3, 1);
        var vh = _g.Transpose(_g.Reshape(v, 0, 0, heads, headDim), 0, 2, 1, 3);
        var scores = _g.Mul(_g.MatMul(qh, kh), _g.Scalar((float)(1.0 / Math.Sqrt(headDim))));
        if (attend is not null) scores = _g.Op("Where", [attend, scores, _g.Scalar(float.NegativeInfinity)]);
        var context = _g.MatMul(_g.Softmax(scores), vh);
        return _g.Reshape(_g.Transpose(context, 0, 2, 1, 3), 0, 0, config.HiddenDim);
    }

    private string CrossAttention(string query, string key, string value, string attend, string prefix)
    {
        using var scope = NewDisposeScope();
        var w = W(prefix + ".in_proj_weight").chunk(3, 0);
        var b = W(prefix + ".in_proj_bias").chunk(3, 0);
        var q = _g.Linear(query, w[0], b[0], prefix + ".q");
        var k = _g.Linear(key, w[1], b[1], prefix + ".k");
        var v = _g.Linear(value, w[2], b[2], prefix + ".v");
        return Linear(Attention(q, k, v, attend), prefix + ".out_proj");
    }

    private string SelfAttention(string hidden, string position, string prefix)
    {
        var withPosition = _g.Add(hidden, position);
        var q = Linear(withPosition, prefix + ".q_proj");
        var k = Linear(withPosition, prefix + ".k_proj");
        var v = Linear(hidden, prefix + ".v_proj");
        return Linear(Attention(q, k, v, null), prefix + ".out_proj");
    }
}
