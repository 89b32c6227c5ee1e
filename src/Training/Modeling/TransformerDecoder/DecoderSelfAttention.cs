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
        var withPosition = hidden + position;
        var merged = HeadAttention.Attend(q_proj.forward(withPosition), k_proj.forward(withPosition), v_proj.forward(hidden), _heads, null,
            training ? _dropout : 0.0);
        return out_proj.forward(merged).MoveToOuterDisposeScope();
    }
}
