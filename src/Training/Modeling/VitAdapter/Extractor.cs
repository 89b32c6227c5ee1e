using Microsoft.ML.Mask2Former.Training.Modeling.PixelDecoder;

namespace Microsoft.ML.Mask2Former.Training.Modeling.VitAdapter;

/// <summary>
/// The adapter's extractor: the prior tokens query the ViT tokens (one level) with deformable
/// attention (both sides layer-normed) and add the result, then a convolutional FFN
/// (<see cref="ConvFfn"/>) behind its own norm, with a residual.
/// </summary>
public sealed class Extractor : nn.Module
{
    private readonly LayerNorm query_norm;
    private readonly LayerNorm feat_norm;
    private readonly MultiscaleDeformableAttention attn;
    private readonly ConvFfn ffn;
    private readonly LayerNorm ffn_norm;
    private readonly double _dropPath;

    /// <summary>Creates an extractor of <paramref name="config"/>.</summary>
    public Extractor(VitAdapterConfig config, double dropPath) : base(nameof(Extractor))
    {
        _dropPath = dropPath;
        query_norm = nn.LayerNorm(config.EmbedDim, VitAdapterConfig.LayerNormEps);
        feat_norm = nn.LayerNorm(config.EmbedDim, VitAdapterConfig.LayerNormEps);
        attn = new MultiscaleDeformableAttention(config.EmbedDim, config.DeformNumHeads, levels: 1, config.NumPoints, config.DeformValueDim);
        ffn = new ConvFfn(config);
        ffn_norm = nn.LayerNorm(config.EmbedDim, VitAdapterConfig.LayerNormEps);
        RegisterComponents();
    }

    /// <summary>Prior tokens [B, n, C] with reference points [B, n, 1, 2] and ViT tokens [B, N, C] → prior tokens.</summary>
    internal Tensor forward(Tensor prior, Tensor referencePoints, Tensor vit, AdapterGrid grid)
    {
        using var scope = NewDisposeScope();
        var c = prior + attn.forward(query_norm.forward(prior), feat_norm.forward(vit), referencePoints, grid.VitLevel);
        c = c + StochasticDepth.Apply(ffn.forward(ffn_norm.forward(c), grid), _dropPath, training);
        return c.MoveToOuterDisposeScope();
    }
}
