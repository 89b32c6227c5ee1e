using Microsoft.ML.Mask2Former.Training.Modeling.Swin;
using static Microsoft.ML.Mask2Former.Training.Export.OnnxGraphBuilder;
using DataType = Microsoft.ML.Mask2Former.Onnx.TensorProto.Types.DataType;

namespace Microsoft.ML.Mask2Former.Training.Export;

// The Swin backbone as ONNX nodes (Mask2FormerOnnxExporter).
internal sealed partial class OnnxEmitter
{
    private string[] Swin(string pixels, SwinConfig swin)
    {
        var p = swin.PatchSize;
        var padded = PadToMultiple(pixels, p, heightAxis: 2, widthAxis: 3, rank: 4);
        var embedded = Conv(padded, $"{Backbone}.embeddings.patch_embeddings.projection", stride: p);
        var x = LayerNorm(_g.Transpose(embedded, 0, 2, 3, 1), $"{Backbone}.embeddings.norm");
        var maps = new string[swin.Depths.Count];
        for (var s = 0; s < swin.Depths.Count; s++)
        {
            string? shiftMask = null;
            for (var b = 0; b < swin.Depths[s]; b++)
            {
                var shifted = b % 2 == 1;
                x = SwinBlock(x, swin, s, b, shifted, ref shiftMask);
            }
            var norm = LayerNorm(x, $"{Backbone}.hidden_states_norms.{swin.OutFeatures[s]}");
            maps[s] = _g.Transpose(norm, 0, 3, 1, 2);
            if (s < swin.Depths.Count - 1) x = PatchMerging(x, $"{Backbone}.encoder.layers.{s}.downsample");
        }
        return maps;
    }


    private string SwinBlock(string x, SwinConfig swin, int stage, int block, bool shifted, ref string? shiftMask)
    {
        var prefix = $"{Backbone}.encoder.layers.{stage}.blocks.{block}";
        var window = swin.WindowSize;
        var shift = shifted ? window / 2 : 0;
        var dim = swin.StageDim(stage);
        var heads = swin.NumHeads[stage];
        var headDim = dim / heads;
        var n = window * window;

        var y = LayerNorm(x, prefix + ".layernorm_before", swin.LayerNormEps);
        var height = _g.Dim(y, 1);
        var width = _g.Dim(y, 2);
        y = PadToMultiple(y, window, 1, 2, 4);
        if (shift > 0) y = Roll(y, -shift);
        var w = _g.Ints(window);
        var rows = _g.Op("Div", [_g.Dim(y, 1), w]);
        var cols = _g.Op("Div", [_g.Dim(y, 2), w]);
        var paddedShape = _g.Concat(0, _g.Ints(-1), _g.Dim(y, 1), _g.Dim(y, 2), _g.Ints(dim));
        var windows = _g.Reshape(y, _g.Concat(0, _g.Ints(-1), rows, w, cols, w, _g.Ints(dim)));
        // Tokens as one [windows·n, C] matrix: ONNX Runtime runs a 2-D MatMul as one GEMM, but a
        // [windows, n, C] one as a GEMM per window (4x slower for Swin-T's stage 3).
        windows = _g.Reshape(_g.Transpose(windows, 0, 1, 3, 2, 4, 5), -1, dim);

        // Window attention with the relative position bias (a constant) and, when shifted, the region mask.
        var attention = prefix + ".attention.self";
        string q;
        using (var scope = NewDisposeScope())
        {
            // The 1/√d of the scores folded into the query projection: one pass over the scores less.
            var scale = 1.0 / Math.Sqrt(headDim);
            q = _g.Linear(windows, W(attention + ".query.weight") * scale, swin.QkvBias ? W(attention + ".query.bias") * scale : null, attention + ".query_scaled");
        }
        // ONNX Runtime's MultiHeadAttention takes the windows' tokens as [windows, n, C] and returns
        // them so: no head transposes, and one kernel for the 49×49 products of every window and
        // head, where batched MatMuls dispatch a tiny GEMM each.
        string Windows(string t) => _g.Reshape(t, -1, n, dim);
        var k = Linear(windows, attention + ".key", swin.QkvBias);
        var v = Linear(windows, attention + ".value", swin.QkvBias);
        string bias;
        using (var scope = NewDisposeScope())
        {
            var table = W(attention + ".relative_position_bias_table");
            var index = W(attention + ".relative_position_index");
            bias = _g.Initializer(attention + ".relative_position_bias",
                table.index_select(0, index.view(-1)).view(n, n, -1).permute(2, 0, 1).unsqueeze(0).contiguous());
        }
        if (shift > 0)
        {
            shiftMask ??= ShiftMask(_g.Dim(y, 1), _g.Dim(y, 2), rows, cols, window, shift);
            // [windows, heads, n, n] per image, repeated over the batch.
            var perImage = _g.Add(_g.Unsqueeze(shiftMask, 1), bias);
            bias = _g.Reshape(_g.Op("Expand", [_g.Unsqueeze(perImage, 0), _g.Concat(0, _g.Dim(x, 0), _g.Ints(1, 1, 1, 1))]), -1, heads, n, n);
        }
        var context = _g.Op("MultiHeadAttention", [Windows(q), Windows(k), Windows(v), "", "", bias],
            Attr("num_heads", (long)heads), Attr("scale", 1f));
        _g.MarkContribDomain(context);
        context = _g.Reshape(context, -1, dim);
        var attended = Linear(context, prefix + ".attention.output.dense");

        // Windows back to the padded map, unshift, crop.
        var back = _g.Reshape(attended, _g.Concat(0, _g.Ints(-1), rows, cols, w, w, _g.Ints(dim)));
        back = _g.Reshape(_g.Transpose(back, 0, 1, 3, 2, 4, 5), paddedShape);
        if (shift > 0) back = Roll(back, shift);
        back = _g.Slice(back, _g.Ints(0, 0), _g.Concat(0, height, width), [1, 2]);

        var hidden = _g.Add(x, back);
        var mlp = Linear(_g.Gelu(Linear(LayerNorm(hidden, prefix + ".layernorm_after", swin.LayerNormEps), prefix + ".intermediate.dense")), prefix + ".output.dense");
        return _g.Add(hidden, mlp);
    }

    /// <summary><c>torch.roll</c> over axes 1 and 2 by <paramref name="shift"/> (negative: towards the start).</summary>
    private string Roll(string x, int shift)
    {
        foreach (var axis in new long[] { 1, 2 })
        {
            // roll(-s): x[s:] ++ x[:s]; roll(+s): x[-s:] ++ x[:-s].
            var cut = shift < 0 ? -shift : -(long)shift;
            var head = _g.Slice(x, _g.Ints(cut), _g.Ints(long.MaxValue), [axis]);
            var tail = _g.Slice(x, _g.Ints(0), _g.Ints(cut), [axis]);
            x = _g.Concat(axis, head, tail);
        }
        return x;
    }

    /// <summary>The shifted-window mask [windows, n, n] (0 or −10⁴) for a padded map of the given size, computed in the graph.</summary>
    private string ShiftMask(string paddedHeight, string paddedWidth, string rows, string cols, int window, int shift)
    {
        string Regions(string size)
        {
            var scalarSize = _g.Op("Squeeze", [size, _g.Ints(0)]);
            var index = _g.Op("Range", [_g.IntScalar(0), scalarSize, _g.IntScalar(1)]);
            var first = _g.Cast(_g.Op("GreaterOrEqual", [index, _g.Sub(size, _g.Ints(window))]), DataType.Float);
            var second = _g.Cast(_g.Op("GreaterOrEqual", [index, _g.Sub(size, _g.Ints(shift))]), DataType.Float);
            return _g.Add(first, second);
        }
        var ry = _g.Unsqueeze(Regions(paddedHeight), 1);
        var rx = _g.Unsqueeze(Regions(paddedWidth), 0);
        var map = _g.Add(_g.Mul(ry, _g.Scalar(3f)), rx);
        var w = _g.Ints(window);
        var windows = _g.Reshape(map, _g.Concat(0, rows, w, cols, w));
        windows = _g.Reshape(_g.Transpose(windows, 0, 2, 1, 3), -1, window * window);
        var difference = _g.Sub(_g.Unsqueeze(windows, 1), _g.Unsqueeze(windows, 2));
        var different = _g.Op("Not", [_g.Op("Equal", [difference, _g.Scalar(0f)])]);
        // The reference masks with −100, whose softmax weights (e^−100) are denormal floats: the
        // MatMuls that read them run 4–8× slower unless the session flushes denormals, which ML.NET's
        // ApplyOnnxModel cannot ask for. −10⁴ gives exact zeros instead (a difference below 10⁻⁴³).
        return _g.Op("Where", [different, _g.Scalar(-1e4f), _g.Scalar(0f)]);
    }

    private string PatchMerging(string x, string prefix)
    {
        var padded = PadToMultiple(x, 2, 1, 2, 4);
        var end = _g.Ints(long.MaxValue, long.MaxValue);
        string Part(long dy, long dx) => _g.Slice(padded, _g.Ints(dy, dx), end, [1, 2], [2, 2]);
        var merged = _g.Concat(-1, Part(0, 0), Part(1, 0), Part(0, 1), Part(1, 1));
        return Linear(LayerNorm(merged, prefix + ".norm"), prefix + ".reduction", bias: false);
    }
}
