namespace Microsoft.ML.Mask2Former.Training.Modeling.TransformerDecoder;

/// <summary>
/// Masked cross-attention from the queries to one level of pixel features, with the parameters of
/// PyTorch's <c>nn.MultiheadAttention</c> (<c>in_proj_weight</c>, <c>in_proj_bias</c>, <c>out_proj</c>).
/// Built on <c>scaled_dot_product_attention</c>, which accepts a per-head mask.
/// </summary>
public sealed class MaskedCrossAttention : nn.Module
{
    private readonly Parameter in_proj_weight;
    private readonly Parameter in_proj_bias;
    private readonly Linear out_proj;
    private readonly int _heads;
    private readonly double _dropout;

    /// <summary>Creates the attention for <paramref name="dim"/> channels.</summary>
    public MaskedCrossAttention(int dim, int heads, double dropout) : base(nameof(MaskedCrossAttention))
    {
        _heads = heads;
        _dropout = dropout;
        in_proj_weight = new Parameter(empty(3 * dim, dim));
        in_proj_bias = new Parameter(zeros(3 * dim));
        in_proj_weight.DetachFromDisposeScope();
        in_proj_bias.DetachFromDisposeScope();
        out_proj = nn.Linear(dim, dim);
        using (no_grad())
        {
            nn.init.xavier_uniform_(in_proj_weight);
            out_proj.bias!.zero_();
        }
        RegisterComponents();
    }

    /// <summary>
    /// <paramref name="query"/> [Q, B, C], <paramref name="key"/> and <paramref name="value"/> [S, B, C]
    /// (sequence first), <paramref name="attend"/> [B, heads, Q, S] with <see langword="true"/> where
    /// attention is allowed → [Q, B, C].
    /// </summary>
    public Tensor forward(Tensor query, Tensor key, Tensor value, Tensor? attend)
    {
        using var scope = NewDisposeScope();
        var weights = in_proj_weight.chunk(3, 0);
        var biases = in_proj_bias.chunk(3, 0);
        var merged = HeadAttention.Attend(nn.functional.linear(query, weights[0], biases[0]), nn.functional.linear(key, weights[1], biases[1]),
            nn.functional.linear(value, weights[2], biases[2]), _heads, attend, training ? _dropout : 0.0);
        return out_proj.forward(merged).MoveToOuterDisposeScope();
    }
}
