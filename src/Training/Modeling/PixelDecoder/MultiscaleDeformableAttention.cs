namespace Microsoft.ML.Mask2Former.Training.Modeling.PixelDecoder;

/// <summary>
/// Multi-scale deformable attention (Deformable DETR): each query samples a few points per head
/// and level around its reference point, at learned offsets, and averages them with learned
/// weights. Sampling is bilinear with zero padding, done with <c>grid_sample</c> (no custom kernel).
/// </summary>
public sealed class MultiscaleDeformableAttention : nn.Module
{
    private readonly Linear sampling_offsets;
    private readonly Linear attention_weights;
    private readonly Linear value_proj;
    private readonly Linear output_proj;
    private readonly int _heads;
    private readonly int _levels;
    private readonly int _points;
    private readonly int _valueDim;

    /// <summary>
    /// Creates the attention for <paramref name="dim"/> channels; the values are projected to
    /// <paramref name="valueDim"/> channels (default <paramref name="dim"/>; ViT-Adapter's
    /// <c>deform_ratio</c> narrows them) and back.
    /// </summary>
    public MultiscaleDeformableAttention(int dim, int heads, int levels, int points, int? valueDim = null) : base(nameof(MultiscaleDeformableAttention))
    {
        var values = valueDim ?? dim;
        if (values % heads != 0) throw new ArgumentException($"value width {values} is not divisible by {heads} heads.");
        _valueDim = values;
        _heads = heads;
        _levels = levels;
        _points = points;
        sampling_offsets = nn.Linear(dim, heads * levels * points * 2);
        attention_weights = nn.Linear(dim, heads * levels * points);
        value_proj = nn.Linear(dim, values);
        output_proj = nn.Linear(values, dim);
        RegisterComponents();
    }

    /// <summary>
    /// Deformable DETR's initialisation: zero offset weights with biases pointing each head in its
    /// own direction (point k at distance k + 1), uniform attention, Xavier projections.
    /// </summary>
    internal void ResetParameters()
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        nn.init.zeros_(sampling_offsets.weight!);
        var bias = new float[_heads * _levels * _points * 2];
        for (var h = 0; h < _heads; h++)
        {
            var theta = h * (2.0 * Math.PI / _heads);
            var (x, y) = (Math.Cos(theta), Math.Sin(theta));
            var scale = Math.Max(Math.Abs(x), Math.Abs(y));
            for (var l = 0; l < _levels; l++)
            for (var p = 0; p < _points; p++)
            {
                var i = ((h * _levels + l) * _points + p) * 2;
                bias[i] = (float)(x / scale * (p + 1));
                bias[i + 1] = (float)(y / scale * (p + 1));
            }
        }
        sampling_offsets.bias!.copy_(tensor(bias));
        nn.init.zeros_(attention_weights.weight!);
        nn.init.zeros_(attention_weights.bias!);
        nn.init.xavier_uniform_(value_proj.weight!);
        nn.init.zeros_(value_proj.bias!);
        nn.init.xavier_uniform_(output_proj.weight!);
        nn.init.zeros_(output_proj.bias!);
    }

    /// <summary>
    /// <paramref name="queries"/> [B, Q, C] (position embedding already added),
    /// <paramref name="values"/> [B, S, C] flattened over <paramref name="shapes"/> (levels, high-level first as given),
    /// <paramref name="referencePoints"/> [B, Q, L, 2] normalised (x, y) → [B, Q, C].
    /// </summary>
    public Tensor forward(Tensor queries, Tensor values, Tensor referencePoints, IReadOnlyList<(long Height, long Width)> shapes)
    {
        using var scope = NewDisposeScope();
        var batch = queries.shape[0];
        var count = queries.shape[1];
        var length = values.shape[1];
        if (shapes.Sum(s => s.Height * s.Width) != length)
            throw new ArgumentException($"The level shapes cover {shapes.Sum(s => s.Height * s.Width)} positions but the values have {length}.");
        var headDim = _valueDim / _heads;
        var value = value_proj.forward(values).view(batch, length, _heads, headDim);
        var offsets = sampling_offsets.forward(queries).view(batch, count, _heads, _levels, _points, 2);
        var weights = attention_weights.forward(queries).view(batch, count, _heads, _levels * _points).softmax(-1);

        var normalizer = tensor(shapes.SelectMany(s => new float[] { s.Width, s.Height }).ToArray(), new long[] { _levels, 2 }).to(offsets.dtype, offsets.device);
        var locations = referencePoints.view(batch, count, 1, _levels, 1, 2) + offsets / normalizer.view(1, 1, 1, _levels, 1, 2);
        var grids = locations.mul(2).sub(1);

        // Samples are laid out [B·heads, d, P, Q] (grid [B·heads, P, Q, 2]): neighbouring queries sample
        // neighbouring places, which keeps grid_sample cache-friendly, and the weighted sum over the
        // points becomes a few fused multiply-adds over contiguous rows instead of a reduction over
        // a tiny innermost dimension.
        var attention = weights.view(batch, count, _heads, _levels, _points).permute(0, 2, 3, 4, 1).reshape(batch * _heads, _levels, _points, count);
        var accumulated = zeros(new[] { batch * _heads, headDim, count }, queries.dtype, queries.device);
        long start = 0;
        for (var level = 0; level < _levels; level++)
        {
            var (h, w) = shapes[level];
            // [B, h·w, heads, d] → [B·heads, d, h, w]
            var levelValue = value.narrow(1, start, h * w).flatten(2).transpose(1, 2).reshape(batch * _heads, headDim, h, w);
            // [B, Q, heads, P, 2] → [B·heads, P, Q, 2]
            var grid = grids.select(3, level).permute(0, 2, 3, 1, 4).reshape(batch * _heads, _points, count, 2);
            var sampled = nn.functional.grid_sample(levelValue, grid, GridSampleMode.Bilinear, GridSamplePaddingMode.Zeros, align_corners: false);
            var levelAttention = attention.select(1, level);
            for (var point = 0; point < _points; point++)
                accumulated.addcmul_(sampled.select(2, point), levelAttention.select(1, point).unsqueeze(1), 1.0);
            start += h * w;
        }
        var output = accumulated.view(batch, _heads * headDim, count).transpose(1, 2);
        return output_proj.forward(output).MoveToOuterDisposeScope();
    }
}
