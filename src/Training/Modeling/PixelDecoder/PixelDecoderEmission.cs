using Google.Protobuf;
using Microsoft.ML.Mask2Former.Onnx;
using Microsoft.ML.Mask2Former.Training.Modeling;
using static Microsoft.ML.Mask2Former.Training.Export.OnnxGraphBuilder;
using DataType = Microsoft.ML.Mask2Former.Onnx.TensorProto.Types.DataType;

namespace Microsoft.ML.Mask2Former.Training.Export;

// The pixel decoder (deformable-attention encoder, FPN) as ONNX nodes (Mask2FormerOnnxExporter).
internal sealed partial class OnnxEmitter
{
    /// <summary>
    /// The levels a multi-scale deformable attention samples: each level's height and width (1-D
    /// int64 [1] values), their token counts concatenated (<see cref="Sizes"/>, for Split) and the
    /// (width, height) normaliser of the offsets [1, 1, 1, levels, 1, 2].
    /// </summary>
    private sealed record DeformableLevels(string[] Heights, string[] Widths, string Sizes, string Normalizer)
    {
        /// <summary>Emits the sizes and normaliser for levels of the given heights and widths.</summary>
        public static DeformableLevels Emit(OnnxGraphBuilder g, string[] heights, string[] widths)
        {
            var counts = heights.Select((h, i) => g.Op("Mul", [h, widths[i]])).ToArray();
            var wh = heights.SelectMany((h, i) => new[] { widths[i], h }).ToArray();
            var normalizer = g.Reshape(g.Cast(g.Concat(0, wh), DataType.Float), 1, 1, 1, heights.Length, 1, 2);
            return new DeformableLevels(heights, widths, g.Concat(0, counts), normalizer);
        }
    }

    private readonly Dictionary<(int Level, int Features), string> _positions = new();
    private readonly Dictionary<(string Reference, string Normalizer, int Heads, int Points), (string Scale, string Offset)> _samplingFrames = new();


    private (string[] MultiScale, string MaskFeatures) PixelDecoderForward(string[] features)
    {
        const int Levels = Mask2FormerConfig.FeatureLevels;
        var dim = config.FeatureSize;
        var embeds = new string[Levels];
        var positions = new string[Levels];
        var heights = new string[Levels];
        var widths = new string[Levels];
        using (var scope = NewDisposeScope())
        {
            var levelEmbed = W($"{PixelDecoder}.level_embed");
            for (var level = 0; level < Levels; level++)
            {
                var x = features[features.Length - 1 - level];
                var projected = GroupNorm(Conv(x, $"{PixelDecoder}.input_projections.{level}.0"), $"{PixelDecoder}.input_projections.{level}.1");
                heights[level] = _g.Dim(projected, 2);
                widths[level] = _g.Dim(projected, 3);
                embeds[level] = _g.Transpose(_g.Reshape(projected, 0, dim, -1), 0, 2, 1);
                var embed = _g.Initializer($"{PixelDecoder}.level_embed.{level}", levelEmbed[level].view(1, 1, -1));
                positions[level] = _g.Add(Position(heights[level], widths[level], dim / 2, level), embed);
            }
        }
        var levels = DeformableLevels.Emit(_g, heights, widths);
        var tokens = _g.Concat(1, embeds);
        var batch = _g.Dim(tokens, 0);
        // The encoder works on [N·S, C] rows, so that every projection is one Gemm with its bias inside.
        var hidden = _g.Reshape(tokens, -1, dim);
        var position = _g.Reshape(_g.Op("Expand", [_g.Concat(1, positions), _g.Concat(0, batch, _g.Ints(1, 1))]), -1, dim);
        var reference = ReferencePoints(heights, widths);
        for (var layer = 0; layer < config.EncoderLayers; layer++)
            hidden = EncoderLayer(hidden, position, reference, levels, batch, $"{PixelDecoder}.encoder.layers.{layer}");

        var parts = _g.OpN("Split", [_g.Reshape(hidden, _g.Concat(0, batch, _g.Ints(-1, dim))), levels.Sizes], Levels, Attr("axis", 1L));
        var outputs = new string[Levels];
        for (var level = 0; level < Levels; level++)
            outputs[level] = _g.Reshape(_g.Transpose(parts[level], 0, 2, 1), _g.Concat(0, _g.Ints(0, dim), heights[level], widths[level]));

        var lateral = GroupNorm(Conv(features[0], $"{PixelDecoder}.adapter_1.0", bias: false), $"{PixelDecoder}.adapter_1.1");
        var upsampled = _g.ResizeBilinear(outputs[^1], _g.Op("Shape", [lateral]));
        var finest = _g.Relu(GroupNorm(Conv(_g.Add(lateral, upsampled), $"{PixelDecoder}.layer_1.0", padding: 1, bias: false), $"{PixelDecoder}.layer_1.1"));
        var maskFeatures = Conv(finest, $"{PixelDecoder}.mask_projection");
        return (outputs, maskFeatures);
    }

    /// <summary>Sine position embedding [1, h·w, 2·features] for a map of the given size (computed once per size and width).</summary>
    private string Position(string height, string width, int features, int level)
    {
        if (_positions.TryGetValue((level, features), out var cached)) return cached;
        float[] dimT;
        using (var scope = NewDisposeScope())
        {
            // The same float32 arithmetic as SinePositionEmbedding.
            var d = arange(features, dtype: ScalarType.Int64).to(ScalarType.Float32);
            dimT = full(new long[] { features }, 10000.0, dtype: ScalarType.Float32).pow(d.div(2, RoundingMode.floor).mul(2).div(features)).data<float>().ToArray();
        }
        var dimTensor = _g.Floats(dimT, features);
        var even = _g.Op("Equal", [_g.Op("Mod", [_g.Op("Range", [_g.IntScalar(0), _g.IntScalar(features), _g.IntScalar(1)]), _g.IntScalar(2)]), _g.IntScalar(0)]);
        string Encode(string size)
        {
            var scalar = _g.Op("Squeeze", [size, _g.Ints(0)]);
            var index = _g.Cast(_g.Op("Range", [_g.IntScalar(1), _g.Add(scalar, _g.IntScalar(1)), _g.IntScalar(1)]), DataType.Float);
            // embed / (size + 1e-6) · 2π, the divisor rounded from double as libtorch rounds a Python scalar.
            var divisor = _g.Cast(_g.Add(_g.Cast(size, DataType.Double), _g.Op("Constant", [], new AttributeProto
            {
                Name = "value",
                Type = AttributeProto.Types.AttributeType.Tensor,
                T = new TensorProto { DataType = (int)DataType.Double, RawData = ByteString.CopyFrom(BitConverter.GetBytes(1e-6)) },
            })), DataType.Float);
            var embed = _g.Mul(_g.Div(index, divisor), _g.Scalar((float)(2 * Math.PI)));
            var p = _g.Div(_g.Unsqueeze(embed, 1), dimTensor);
            return _g.Op("Where", [even, _g.Op("Sin", [p]), _g.Op("Cos", [p])]);
        }
        var ey = _g.Unsqueeze(Encode(height), 1);   // [h, 1, F]
        var ex = _g.Unsqueeze(Encode(width), 0);    // [1, w, F]
        var grid = _g.Concat(0, height, width, _g.Ints(features));
        var both = _g.Concat(-1, _g.Op("Expand", [ey, grid]), _g.Op("Expand", [ex, grid]));
        var result = _g.Reshape(both, 1, -1, 2 * features);
        _positions[(level, features)] = result;
        return result;
    }

    /// <summary>Reference points [1, L, 1, 1, 1, 2]: pixel centres (x, y) normalised by each level's size.</summary>
    private string ReferencePoints(string[] heights, string[] widths)
    {
        var perLevel = new string[heights.Length];
        for (var level = 0; level < heights.Length; level++)
        {
            string Centres(string size)
            {
                var scalar = _g.Op("Squeeze", [size, _g.Ints(0)]);
                var index = _g.Cast(_g.Op("Range", [_g.IntScalar(0), scalar, _g.IntScalar(1)]), DataType.Float);
                return _g.Div(_g.Add(index, _g.Scalar(0.5f)), _g.Cast(size, DataType.Float));
            }
            var grid = _g.Concat(0, heights[level], widths[level], _g.Ints(1));
            var y = _g.Op("Expand", [_g.Unsqueeze(Centres(heights[level]), 1, 2), grid]);
            var x = _g.Op("Expand", [_g.Unsqueeze(Centres(widths[level]), 0, 2), grid]);
            perLevel[level] = _g.Reshape(_g.Concat(-1, x, y), -1, 2);
        }
        return _g.Reshape(_g.Concat(0, perLevel), 1, -1, 1, 1, 1, 2);
    }

    /// <summary>One deformable encoder layer over [N·S, C] rows (post-norm, as the module).</summary>
    private string EncoderLayer(string hidden, string position, string reference, DeformableLevels levels, string batch, string prefix)
    {
        var dim = config.FeatureSize;
        var attended = MultiscaleDeformableAttention(_g.Add(hidden, position), hidden, batch, reference, levels, prefix + ".self_attn",
            config.NumAttentionHeads, Mask2FormerConfig.DeformablePoints, dim);
        hidden = LayerNorm(_g.Add(hidden, attended), prefix + ".self_attn_layer_norm");
        var ffn = Gemm(_g.Relu(Gemm(hidden, prefix + ".fc1")), prefix + ".fc2");
        return LayerNorm(_g.Add(hidden, ffn), prefix + ".final_layer_norm");
    }

    /// <summary>
    /// Multi-scale deformable attention, the module <see cref="Modeling.PixelDecoder.MultiscaleDeformableAttention"/>
    /// whose weights are under <paramref name="prefix"/> (<c>value_proj</c>, <c>sampling_offsets</c>,
    /// <c>attention_weights</c>, <c>output_proj</c>). <paramref name="queries"/> [N·Q, C] rows (position
    /// already added) sample <paramref name="values"/> [N·S, C] rows, the levels of
    /// <paramref name="levels"/> flattened one after another (any number of levels: 3 in the pixel
    /// decoder, 1 or 3 in ViT-Adapter's injector and extractor); <paramref name="batch"/> is N as a 1-D
    /// int64 [1]; <paramref name="reference"/> holds normalised (x, y) reference points broadcastable to
    /// [N, Q, heads, levels, points, 2] (one point per query: [1 or N, Q, 1, 1, 1, 2]; one per level:
    /// [N, Q, 1, levels, 1, 2]). <paramref name="valueDim"/> is value_proj's width (C, or ViT-Adapter's
    /// deform_ratio·C). Returns [N·Q, C] rows.
    /// </summary>
    /// <remarks>
    /// The offset and attention-weight projections read the same queries, so they run as one Gemm;
    /// sampling is one GridSample per level over [N·heads, d, h, w] (queries along the grid's width, so
    /// neighbouring queries read neighbouring places), weighted by the softmaxed attention.
    /// </remarks>
    private string MultiscaleDeformableAttention(string queries, string values, string batch, string reference, DeformableLevels levels,
        string prefix, int heads, int points, int valueDim)
    {
        var levelCount = levels.Heights.Length;
        var headDim = valueDim / heads;
        var value = _g.Reshape(Gemm(values, prefix + ".value_proj"), _g.Concat(0, batch, _g.Ints(-1, heads, headDim)));
        string projectedWeight, projectedBias;
        using (var scope = NewDisposeScope())
        {
            var name = prefix + ".sampling_offsets_attention_weights";
            projectedWeight = _g.Initializer(name + ".weight_t", cat([W(prefix + ".sampling_offsets.weight"), W(prefix + ".attention_weights.weight")], 0).t());
            projectedBias = _g.Initializer(name + ".bias", cat([W(prefix + ".sampling_offsets.bias"), W(prefix + ".attention_weights.bias")], 0));
        }
        // The projection yields the sampling grid directly: GridSample's coordinates are
        // 2·(reference + offset / (w, h)) − 1 = offset · 2/(w, h) + (2·reference − 1), so the offset
        // columns of the weights and bias are scaled by 2/(w, h) of their level and the (2·reference − 1)
        // rows enter as the Gemm's C. This spares four passes over [N, Q, heads, levels, points, 2]
        // tensors whose 6-D broadcasts ONNX Runtime runs slowly (≈20 ms each at 800×1216).
        var samples = heads * levelCount * points;
        var (scale, frame) = SamplingFrame(reference, levels, batch, heads, points);
        var gridAndLogits = _g.Op("Gemm", [queries, _g.Mul(projectedWeight, scale), _g.Add(frame, _g.Mul(projectedBias, scale))]);
        var split = _g.OpN("Split", [gridAndLogits, _g.Ints(2 * samples, samples)], 2, Attr("axis", 1L));
        var grids = _g.Reshape(split[0], _g.Concat(0, batch, _g.Ints(-1, heads, levelCount, points, 2)));
        var weightsNode = _g.Softmax(_g.Reshape(split[1], _g.Concat(0, batch, _g.Ints(-1, heads, levelCount * points))));
        var count = _g.Dim(grids, 1);
        var attention = _g.Reshape(_g.Transpose(_g.Reshape(weightsNode, _g.Concat(0, batch, _g.Ints(-1, heads, levelCount, points))), 0, 2, 3, 4, 1),
            _g.Concat(0, _g.Ints(-1, levelCount, points), count));
        var perLevel = levelCount == 1 ? [value] : _g.OpN("Split", [value, levels.Sizes], levelCount, Attr("axis", 1L));
        string? accumulated = null;
        for (var level = 0; level < levelCount; level++)
        {
            var levelValue = _g.Reshape(_g.Transpose(perLevel[level], 0, 2, 3, 1), _g.Concat(0, _g.Ints(-1, headDim), levels.Heights[level], levels.Widths[level]));
            var grid = _g.Op("Gather", [grids, _g.IntScalar(level)], Attr("axis", 3L));
            grid = _g.Reshape(_g.Transpose(grid, 0, 2, 3, 1, 4), _g.Concat(0, _g.Ints(-1, points), count, _g.Ints(2)));
            var sampled = _g.Op("GridSample", [levelValue, grid], Attr("mode", "bilinear"), Attr("padding_mode", "zeros"), Attr("align_corners", 0L));
            var levelAttention = _g.Unsqueeze(_g.Op("Gather", [attention, _g.IntScalar(level)], Attr("axis", 1L)), 1);
            var contribution = _g.Op("ReduceSum", [_g.Mul(sampled, levelAttention), _g.Ints(2)], Attr("keepdims", 0L));
            accumulated = accumulated is null ? contribution : _g.Add(accumulated, contribution);
        }
        var output = _g.Transpose(_g.Reshape(accumulated!, _g.Concat(0, _g.Ints(-1, valueDim), count)), 0, 2, 1);
        return Gemm(_g.Reshape(output, -1, valueDim), prefix + ".output_proj");
    }

    /// <summary>
    /// The per-column scale [3·samples] (2/w or 2/h of the column's level for offset columns, 1 for
    /// attention columns) and the per-row frame [N·Q, 3·samples] (2·reference − 1 for offset
    /// columns, 0 for attention columns) of <see cref="MultiscaleDeformableAttention"/>'s projection;
    /// emitted once per reference and level set and shared by every layer that uses them.
    /// </summary>
    private (string Scale, string Frame) SamplingFrame(string reference, DeformableLevels levels, string batch, int heads, int points)
    {
        var key = (reference, levels.Normalizer, heads, points);
        if (_samplingFrames.TryGetValue(key, out var cached)) return cached;
        var levelCount = levels.Heights.Length;
        var samples = heads * levelCount * points;
        var sampleShape = _g.Ints(1, 1, heads, levelCount, points, 2);
        var offsetScale = _g.Reshape(_g.Op("Expand", [_g.Div(_g.Scalar(2f), levels.Normalizer), sampleShape]), 2 * samples);
        var scale = _g.Concat(0, offsetScale, _g.Floats(Enumerable.Repeat(1f, samples).ToArray(), samples));
        var centred = _g.Sub(_g.Mul(reference, _g.Scalar(2f)), _g.Scalar(1f));
        var rows = _g.Reshape(_g.Op("Expand", [centred, _g.Concat(0, batch, _g.Ints(1, heads, levelCount, points, 2))]), -1, 2 * samples);
        var zeros = _g.Op("Expand", [_g.Floats([0f], 1, 1), _g.Concat(0, _g.Dim(rows, 0), _g.Ints(samples))]);
        var frame = _g.Concat(1, rows, zeros);
        return _samplingFrames[key] = (scale, frame);
    }
}
