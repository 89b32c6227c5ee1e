namespace Microsoft.ML.Mask2Former.Training.Modeling.PixelDecoder;

/// <summary>One deformable encoder layer: deformable self-attention and an FFN, each followed by residual + layer norm.</summary>
public sealed class PixelDecoderEncoderLayer : nn.Module
{
    private readonly MultiscaleDeformableAttention self_attn;
    private readonly LayerNorm self_attn_layer_norm;
    private readonly Linear fc1;
    private readonly Linear fc2;
    private readonly LayerNorm final_layer_norm;
    private readonly double _dropout;

    /// <summary>Creates a layer of <paramref name="config"/>.</summary>
    public PixelDecoderEncoderLayer(Mask2FormerConfig config) : base(nameof(PixelDecoderEncoderLayer))
    {
        _dropout = config.Dropout;
        self_attn = new MultiscaleDeformableAttention(config.FeatureSize, config.NumAttentionHeads, Mask2FormerConfig.FeatureLevels, Mask2FormerConfig.DeformablePoints);
        self_attn_layer_norm = nn.LayerNorm(config.FeatureSize);
        fc1 = nn.Linear(config.FeatureSize, config.EncoderFeedforwardDim);
        fc2 = nn.Linear(config.EncoderFeedforwardDim, config.FeatureSize);
        final_layer_norm = nn.LayerNorm(config.FeatureSize);
        RegisterComponents();
    }

    /// <summary>Tokens [B, S, C] of all levels → [B, S, C].</summary>
    public Tensor forward(Tensor hidden, Tensor position, Tensor referencePoints, IReadOnlyList<(long Height, long Width)> shapes)
    {
        using var scope = NewDisposeScope();
        var attended = self_attn.forward(hidden + position, hidden, referencePoints, shapes);
        hidden = self_attn_layer_norm.forward(hidden + Dropout(attended));
        var ffn = fc2.forward(Dropout(nn.functional.relu(fc1.forward(hidden))));
        hidden = final_layer_norm.forward(hidden + Dropout(ffn));
        return hidden.MoveToOuterDisposeScope();
    }

    private Tensor Dropout(Tensor x) => _dropout > 0 ? nn.functional.dropout(x, _dropout, training) : x;
}
