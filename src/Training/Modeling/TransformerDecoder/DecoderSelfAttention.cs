using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Mask2Former.Training.Modeling.TransformerDecoder;

/// <summary>Self-attention among the queries, with the query position embedding added to queries and keys (DETR style).</summary>
public sealed class DecoderSelfAttention : nn.Module
{
    private readonly Linear k_proj;
    private readonly Linear v_proj;
    private readonly Linear q_proj;
    private readonly Linear out_proj;
    private readonly int _heads;
    private readonly double _dropout;

    /// <summary>Creates the attention for <paramref name="dim"/> channels.</summary>
    public DecoderSelfAttention(int dim, int heads, double dropout) : base(nameof(DecoderSelfAttention))
    {
        _heads = heads;
        _dropout = dropout;
        k_proj = nn.Linear(dim, dim);
        v_proj = nn.Linear(dim, dim);
        q_proj = nn.Linear(dim, dim);
        out_proj = nn.Linear(dim, dim);
        RegisterComponents();
    }

    /// <summary>Queries [Q, B, C] (sequence first) and their position embedding → [Q, B, C].</summary>
    public Tensor forward(Tensor hidden, Tensor position)
    {
        using var scope = NewDisposeScope();
        var (count, batch, dim) = (hidden.shape[0], hidden.shape[1], hidden.shape[2]);
        var headDim = dim / _heads;
        Tensor Heads(Tensor x) => x.view(count, batch, _heads, headDim).permute(1, 2, 0, 3);
        var withPosition = hidden + position;
        var q = Heads(q_proj.forward(withPosition));
        var k = Heads(k_proj.forward(withPosition));
        var v = Heads(v_proj.forward(hidden));
        var attended = nn.functional.scaled_dot_product_attention(q, k, v, p: training ? _dropout : 0.0);
        var merged = attended.permute(2, 0, 1, 3).reshape(count, batch, dim);
        return out_proj.forward(merged).MoveToOuterDisposeScope();
    }
}
