using Microsoft.ML.Mask2Former.Training.Modeling.VitAdapter;
using static Microsoft.ML.Mask2Former.Training.Export.OnnxGraphBuilder;

namespace Microsoft.ML.Mask2Former.Training.Export;

/// <summary>
/// The ONNX emission of <see cref="VitAdapterBackbone"/> and its modules (kept beside them), in
/// standard opset-17 operators. Tokens travel as 2-D rows [N·L, C] so that every projection is
/// one Gemm and the deformable attentions reuse the exporter's multi-scale emission (three prior
/// levels in the injectors, the one ViT level in the extractors, value width deform_ratio·C).
/// Every size (token grid, window padding, prior levels, reference points) is computed in the
/// graph, so batch, height and width stay dynamic; sides must be multiples of 32.
/// </summary>
internal sealed partial class OnnxEmitter
{
    private const string VitBackbone = "model.pixel_level_module.encoder";

    /// <summary>Pixels [N, 3, H, W] → the four output maps (strides 4, 8, 16, 32) of the adapter.</summary>
    private string[] VitAdapter(string pixels, VitAdapterConfig vit)
    {
        var dim = vit.EmbedDim;
        var batch = _g.Dim(pixels, 0);

        // Spatial prior: stride-4 map c1 and token levels c2..c4 (each plus its level embedding).
        var (c1, priorMaps) = SpatialPrior(pixels, vit);
        var priorHeights = priorMaps.Select(m => _g.Dim(m, 2)).ToArray();
        var priorWidths = priorMaps.Select(m => _g.Dim(m, 3)).ToArray();
        string prior;
        using (var scope = NewDisposeScope())
        {
            var levelEmbed = W($"{VitBackbone}.level_embed");
            var tokens = priorMaps.Select((m, i) => _g.Add(_g.Transpose(_g.Reshape(m, 0, dim, -1), 0, 2, 1),
                _g.Initializer($"{VitBackbone}.level_embed.{i}", levelEmbed[i].view(1, 1, -1)))).ToArray();
            prior = _g.Reshape(_g.Concat(1, tokens), -1, dim);
        }
        var priorLevels = DeformableLevels.Emit(_g, priorHeights, priorWidths);

        // Patch embedding: the ViT grid h×w = H/16 × W/16.
        var embedded = Conv(pixels, $"{VitBackbone}.patch_embed.proj", stride: vit.PatchSize);
        var height = _g.Dim(embedded, 2);
        var width = _g.Dim(embedded, 3);
        var x = _g.Reshape(_g.Transpose(_g.Reshape(embedded, 0, dim, -1), 0, 2, 1), -1, dim);
        var vitLevel = DeformableLevels.Emit(_g, [height], [width]);

        // Injectors: each ViT token samples the three prior levels around its own centre;
        // extractors: each prior token samples the ViT map around its own.
        var injectorPoints = ReferencePoints([height], [width]);
        var extractorPoints = ReferencePoints(priorHeights, priorWidths);
        for (var i = 0; i < vit.InteractionIndexes.Count; i++)
        {
            var prefix = $"{VitBackbone}.interactions.{i}";
            x = Injector(x, prior, batch, injectorPoints, priorLevels, vit, prefix + ".injector");
            var range = vit.InteractionIndexes[i];
            for (var j = range[0]; j <= range[1]; j++) x = BeitBlock(x, batch, height, width, vit, j);
            prior = Extractor(prior, x, batch, extractorPoints, vitLevel, priorLevels, vit, prefix + ".extractor");
            if (i == vit.InteractionIndexes.Count - 1)
            {
                for (var e = 0; e < 2; e++)
                    prior = Extractor(prior, x, batch, extractorPoints, vitLevel, priorLevels, vit, $"{prefix}.extra_extractors.{e}");
            }
        }

        // Outputs: prior levels as maps, c2 transposed-convolved to stride 4 plus c1, each plus the
        // ViT map resized to its stride, then one batch norm each.
        var parts = _g.OpN("Split", [_g.Reshape(prior, _g.Concat(0, batch, _g.Ints(-1, dim))), priorLevels.Sizes], 3, Attr("axis", 1L));
        var maps = parts.Select((part, i) => _g.Reshape(_g.Transpose(part, 0, 2, 1), _g.Concat(0, _g.Ints(0, dim), priorHeights[i], priorWidths[i]))).ToArray();
        string up;
        using (var scope = NewDisposeScope())
        {
            var weight = _g.Initializer($"{VitBackbone}.up.weight", W($"{VitBackbone}.up.weight"));
            var bias = _g.Initializer($"{VitBackbone}.up.bias", W($"{VitBackbone}.up.bias"));
            up = _g.Op("ConvTranspose", [maps[0], weight, bias], Attr("kernel_shape", new long[] { 2, 2 }), Attr("strides", new long[] { 2, 2 }));
        }
        var m1 = _g.Add(up, c1);
        var vitMap = _g.Reshape(_g.Transpose(_g.Reshape(x, _g.Concat(0, batch, _g.Ints(-1, dim))), 0, 2, 1), _g.Concat(0, _g.Ints(0, dim), height, width));
        string Resized(string like) => _g.ResizeBilinear(vitMap, _g.Op("Shape", [like]));
        var sums = new[] { _g.Add(m1, Resized(m1)), _g.Add(maps[0], Resized(maps[0])), _g.Add(maps[1], vitMap), _g.Add(maps[2], Resized(maps[2])) };
        return sums.Select((s, k) => FrozenBatchNorm(s, $"{VitBackbone}.norm{k + 1}", VitAdapterConfig.BatchNormEps)).ToArray();
    }

    /// <summary>The spatial prior module: c1 [N, C, H/4, W/4] and the projected stride 8/16/32 maps.</summary>
    private (string C1, string[] Levels) SpatialPrior(string pixels, VitAdapterConfig vit)
    {
        var spm = $"{VitBackbone}.spm";
        string ConvBnRelu(string input, string conv, string norm, long stride) =>
            _g.Relu(FrozenBatchNorm(Conv(input, conv, stride: stride, padding: 1, bias: false), norm, VitAdapterConfig.BatchNormEps));
        var s = ConvBnRelu(pixels, $"{spm}.stem.0", $"{spm}.stem.1", 2);
        s = ConvBnRelu(s, $"{spm}.stem.3", $"{spm}.stem.4", 1);
        s = ConvBnRelu(s, $"{spm}.stem.6", $"{spm}.stem.7", 1);
        var s1 = _g.Op("MaxPool", [s], Attr("kernel_shape", new long[] { 3, 3 }), Attr("strides", new long[] { 2, 2 }), Attr("pads", new long[] { 1, 1, 1, 1 }));
        var s2 = ConvBnRelu(s1, $"{spm}.conv2.0", $"{spm}.conv2.1", 2);
        var s3 = ConvBnRelu(s2, $"{spm}.conv3.0", $"{spm}.conv3.1", 2);
        var s4 = ConvBnRelu(s3, $"{spm}.conv4.0", $"{spm}.conv4.1", 2);
        return (Conv(s1, $"{spm}.fc1"), [Conv(s2, $"{spm}.fc2"), Conv(s3, $"{spm}.fc3"), Conv(s4, $"{spm}.fc4")]);
    }

    /// <summary>A BEiT block over ViT rows [N·h·w, C]: layer-scaled windowed attention and MLP.</summary>
    private string BeitBlock(string x, string batch, string height, string width, VitAdapterConfig vit, int index)
    {
        var prefix = $"{VitBackbone}.blocks.{index}";
        var attended = BeitAttention(LayerNorm(x, prefix + ".norm1", VitAdapterConfig.LayerNormEps), batch, height, width, vit, index, prefix + ".attn");
        x = _g.Add(x, _g.Mul(attended, _g.Initializer(prefix + ".gamma_1", W(prefix + ".gamma_1"))));
        var mlp = Gemm(_g.Gelu(Gemm(LayerNorm(x, prefix + ".norm2", VitAdapterConfig.LayerNormEps), prefix + ".mlp.fc1")), prefix + ".mlp.fc2");
        return _g.Add(x, _g.Mul(mlp, _g.Initializer(prefix + ".gamma_2", W(prefix + ".gamma_2"))));
    }

    /// <summary>
    /// BEiT's attention over normed rows: zero-padded at the bottom/right to a multiple of the
    /// window (no padding mask: padding tokens are keys with value v_bias, as upstream), per-window
    /// attention with the relative position bias (a constant), the padding cropped. A block without
    /// window attention attends over each image's whole map (which must have window² tokens).
    /// </summary>
    private string BeitAttention(string rows, string batch, string height, string width, VitAdapterConfig vit, int index, string prefix)
    {
        var dim = vit.EmbedDim;
        var heads = vit.NumHeads;
        var headDim = dim / heads;
        var window = vit.WindowSize[index];
        var windowed = vit.WindowAttention[index];
        var n = window * window;
        var w = _g.Ints(window);
        string tokens, rowsCount = "", colsCount = "", paddedShape = "";
        if (windowed)
        {
            var map = PadToMultiple(_g.Reshape(rows, _g.Concat(0, batch, height, width, _g.Ints(dim))), window, 1, 2, 4);
            rowsCount = _g.Op("Div", [_g.Dim(map, 1), w]);
            colsCount = _g.Op("Div", [_g.Dim(map, 2), w]);
            paddedShape = _g.Concat(0, batch, _g.Dim(map, 1), _g.Dim(map, 2), _g.Ints(dim));
            var windows = _g.Reshape(map, _g.Concat(0, _g.Ints(-1), rowsCount, w, colsCount, w, _g.Ints(dim)));
            tokens = _g.Reshape(_g.Transpose(windows, 0, 1, 3, 2, 4, 5), -1, dim);
        }
        else
        {
            tokens = rows;
        }
        string Heads(string t, params long[] perm) => _g.Transpose(_g.Reshape(t, -1, n, heads, headDim), perm);
        string q, k, v, scores;
        using (var scope = NewDisposeScope())
        {
            // q = (x·Wq + q_bias)·d^-½ with the scale folded into the weights; k has no bias.
            var chunks = W(prefix + ".qkv.weight").chunk(3, 0);
            var scale = 1.0 / Math.Sqrt(headDim);
            var zero = zeros(dim);
            var qBias = vit.QkvBias ? W(prefix + ".q_bias") : zero;
            var vBias = vit.QkvBias ? W(prefix + ".v_bias") : zero;
            q = Heads(_g.Gemm(tokens, chunks[0] * scale, qBias * scale, prefix + ".q_scaled"), 0, 2, 1, 3);
            k = Heads(_g.Linear(tokens, chunks[1], null, prefix + ".k"), 0, 2, 3, 1);
            v = Heads(_g.Gemm(tokens, chunks[2], vBias, prefix + ".v"), 0, 2, 1, 3);
            // The bias gathered from the table in the graph (ONNX Runtime folds it once per session):
            // stored expanded, window 56's [16, 3136, 3136] would add 630 MB per block to the file.
            var table = _g.Initializer(prefix + ".relative_position_bias_table", W(prefix + ".relative_position_bias_table"));
            var bias = _g.Reshape(_g.Transpose(_g.Op("Gather", [table, RelativePositionIndex(window)], Attr("axis", 0L)), 1, 0), 1, heads, n, n);
            scores = _g.Add(_g.MatMul(q, k), bias);
        }
        var context = _g.Reshape(_g.Transpose(_g.MatMul(_g.Softmax(scores), v), 0, 2, 1, 3), -1, dim);
        var attended = Gemm(context, prefix + ".proj");
        if (!windowed) return attended;
        var back = _g.Reshape(attended, _g.Concat(0, _g.Ints(-1), rowsCount, colsCount, w, w, _g.Ints(dim)));
        back = _g.Reshape(_g.Transpose(back, 0, 1, 3, 2, 4, 5), paddedShape);
        back = _g.Slice(back, _g.Ints(0, 0), _g.Concat(0, height, width), [1, 2]);
        return _g.Reshape(back, -1, dim);
    }

    /// <summary>The flattened pair → bias-table row index [w⁴] (int64, BEiT's formula) of a window side, one initializer per side.</summary>
    private string RelativePositionIndex(int window)
    {
        var name = $"{VitBackbone}.relative_position_index.{window}";
        if (_g.Graph.Initializer.Any(t => t.Name == name)) return name;
        long[] values;
        using (var scope = NewDisposeScope())
            values = Modeling.Swin.SwinSelfAttention.RelativePositionIndex(window).view(-1).to(ScalarType.Int64).data<long>().ToArray();
        var bytes = new byte[values.Length * sizeof(long)];
        Buffer.BlockCopy(values, 0, bytes, 0, bytes.Length);
        var proto = new Onnx.TensorProto { Name = name, DataType = (int)Onnx.TensorProto.Types.DataType.Int64, RawData = Google.Protobuf.ByteString.CopyFrom(bytes) };
        proto.Dims.Add(values.Length);
        _g.Graph.Initializer.Add(proto);
        return name;
    }

    /// <summary>The injector over ViT rows: x + gamma · deformable attention of normed x into the normed prior's three levels.</summary>
    private string Injector(string x, string prior, string batch, string reference, DeformableLevels priorLevels, VitAdapterConfig vit, string prefix)
    {
        var attended = MultiscaleDeformableAttention(LayerNorm(x, prefix + ".query_norm", VitAdapterConfig.LayerNormEps),
            LayerNorm(prior, prefix + ".feat_norm", VitAdapterConfig.LayerNormEps), batch, reference, priorLevels, prefix + ".attn",
            vit.DeformNumHeads, vit.NumPoints, vit.DeformValueDim);
        return _g.Add(x, _g.Mul(attended, _g.Initializer(prefix + ".gamma", W(prefix + ".gamma"))));
    }

    /// <summary>An extractor over prior rows: deformable attention into the normed ViT level, then the ConvFFN behind its norm.</summary>
    private string Extractor(string prior, string x, string batch, string reference, DeformableLevels vitLevel, DeformableLevels priorLevels,
        VitAdapterConfig vit, string prefix)
    {
        var c = _g.Add(prior, MultiscaleDeformableAttention(LayerNorm(prior, prefix + ".query_norm", VitAdapterConfig.LayerNormEps),
            LayerNorm(x, prefix + ".feat_norm", VitAdapterConfig.LayerNormEps), batch, reference, vitLevel, prefix + ".attn",
            vit.DeformNumHeads, vit.NumPoints, vit.DeformValueDim));
        var hidden = Gemm(LayerNorm(c, prefix + ".ffn_norm", VitAdapterConfig.LayerNormEps), prefix + ".ffn.fc1");
        hidden = DepthwiseConv(hidden, batch, priorLevels, vit.CffnHiddenDim, prefix + ".ffn.dwconv.dwconv");
        return _g.Add(c, Gemm(_g.Gelu(hidden), prefix + ".ffn.fc2"));
    }

    /// <summary>The ConvFFN's depthwise 3×3 convolution, run on each prior level's map with shared weights; rows in, rows out.</summary>
    private string DepthwiseConv(string rows, string batch, DeformableLevels levels, int channels, string prefix)
    {
        var parts = _g.OpN("Split", [_g.Reshape(rows, _g.Concat(0, batch, _g.Ints(-1, channels))), levels.Sizes], levels.Heights.Length, Attr("axis", 1L));
        var weight = _g.Initializer(prefix + ".weight", W(prefix + ".weight"));
        var bias = _g.Initializer(prefix + ".bias", W(prefix + ".bias"));
        var convolved = parts.Select((part, i) =>
        {
            var map = _g.Reshape(_g.Transpose(part, 0, 2, 1), _g.Concat(0, _g.Ints(0, channels), levels.Heights[i], levels.Widths[i]));
            var y = _g.Op("Conv", [map, weight, bias], Attr("kernel_shape", new long[] { 3, 3 }), Attr("pads", new long[] { 1, 1, 1, 1 }),
                Attr("group", (long)channels));
            return _g.Transpose(_g.Reshape(y, 0, channels, -1), 0, 2, 1);
        }).ToArray();
        return _g.Reshape(_g.Concat(1, convolved), -1, channels);
    }
}
