using Microsoft.ML.Mask2Former.Training.Modeling.PixelDecoder;

namespace Microsoft.ML.Mask2Former.Training.Modeling.VitAdapter;

/// <summary>
/// The adapter's injector: the ViT tokens query the spatial prior's three levels with deformable
/// attention (both sides layer-normed) and add the result scaled by a learned <c>gamma</c>.
/// </summary>
public sealed class Injector : nn.Module
{
    private readonly LayerNorm query_norm;
    private readonly LayerNorm feat_norm;
    private readonly MultiscaleDeformableAttention attn;
    private readonly Parameter gamma;

    /// <summary>Creates the injector of <paramref name="config"/>.</summary>
    public Injector(VitAdapterConfig config) : base(nameof(Injector))
    {
        query_norm = nn.LayerNorm(config.EmbedDim, VitAdapterConfig.LayerNormEps);
        feat_norm = nn.LayerNorm(config.EmbedDim, VitAdapterConfig.LayerNormEps);
        attn = new MultiscaleDeformableAttention(config.EmbedDim, config.DeformNumHeads, levels: 3, config.NumPoints, config.DeformValueDim);
        gamma = new Parameter(ones(config.EmbedDim).mul_(config.InitValues));
        gamma.DetachFromDisposeScope();
        RegisterComponents();
    }

    /// <summary>ViT tokens [B, N, C] with reference points [B, N, 3, 2] and prior tokens [B, n, C] → ViT tokens.</summary>
    internal Tensor forward(Tensor vit, Tensor referencePoints, Tensor prior, AdapterGrid grid)
    {
        using var scope = NewDisposeScope();
        var attended = attn.forward(query_norm.forward(vit), feat_norm.forward(prior), referencePoints, grid.PriorLevels);
        return (vit + gamma * attended).MoveToOuterDisposeScope();
    }
}
