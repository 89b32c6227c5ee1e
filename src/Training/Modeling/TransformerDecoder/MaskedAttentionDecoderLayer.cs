namespace Microsoft.ML.Mask2Former.Training.Modeling.TransformerDecoder;

/// <summary>
/// One transformer decoder layer: masked cross-attention to a feature level, then self-attention
/// among the queries, then an FFN; post-norm by default (each block: residual, then layer norm),
/// pre-norm when <c>pre_norm</c> is set.
/// </summary>
public sealed class MaskedAttentionDecoderLayer : nn.Module
{
    private readonly DecoderSelfAttention self_attn;
    private readonly LayerNorm self_attn_layer_norm;
    private readonly MaskedCrossAttention cross_attn;
    private readonly LayerNorm cross_attn_layer_norm;
    private readonly Linear fc1;
    private readonly Linear fc2;
    private readonly LayerNorm final_layer_norm;
    private readonly bool _preNorm;
    private readonly double _dropout;

    /// <summary>Creates a layer of <paramref name="config"/>.</summary>
    public MaskedAttentionDecoderLayer(Mask2FormerConfig config) : base(nameof(MaskedAttentionDecoderLayer))
    {
        var dim = config.HiddenDim;
        _preNorm = config.PreNorm;
        _dropout = config.Dropout;
        self_attn = new DecoderSelfAttention(dim, config.NumAttentionHeads, config.Dropout);
        self_attn_layer_norm = nn.LayerNorm(dim);
        cross_attn = new MaskedCrossAttention(dim, config.NumAttentionHeads, config.Dropout);
        cross_attn_layer_norm = nn.LayerNorm(dim);
        fc1 = nn.Linear(dim, config.DimFeedforward);
        fc2 = nn.Linear(config.DimFeedforward, dim);
        final_layer_norm = nn.LayerNorm(dim);
        RegisterComponents();
    }

    /// <summary>
    /// Queries <paramref name="hidden"/> [Q, B, C] with position <paramref name="queryPosition"/>;
    /// <paramref name="memory"/> [S, B, C] of one level with position <paramref name="memoryPosition"/>;
    /// <paramref name="attend"/> [B, heads, Q, S] (true = may attend) → [Q, B, C].
    /// </summary>
    public Tensor forward(Tensor hidden, Tensor queryPosition, Tensor memory, Tensor memoryPosition, Tensor attend)
    {
        using var scope = NewDisposeScope();
        if (_preNorm)
        {
            var normed = cross_attn_layer_norm.forward(hidden);
            hidden = hidden + Dropout(cross_attn.forward(normed + queryPosition, memory + memoryPosition, memory, attend));
            normed = self_attn_layer_norm.forward(hidden);
            hidden = hidden + Dropout(self_attn.forward(normed, queryPosition));
            normed = final_layer_norm.forward(hidden);
            hidden = hidden + Dropout(fc2.forward(Dropout(nn.functional.relu(fc1.forward(normed)))));
        }
        else
        {
            hidden = cross_attn_layer_norm.forward(hidden + Dropout(cross_attn.forward(hidden + queryPosition, memory + memoryPosition, memory, attend)));
            hidden = self_attn_layer_norm.forward(hidden + Dropout(self_attn.forward(hidden, queryPosition)));
            hidden = final_layer_norm.forward(hidden + Dropout(fc2.forward(Dropout(nn.functional.relu(fc1.forward(hidden))))));
        }
        return hidden.MoveToOuterDisposeScope();
    }

    private Tensor Dropout(Tensor x) => _dropout > 0 ? nn.functional.dropout(x, _dropout, training) : x;
}
