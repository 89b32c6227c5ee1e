namespace Microsoft.ML.Mask2Former.Training.Modeling.VitAdapter;

/// <summary>A BEiT block: pre-norm windowed attention and MLP, each residual branch scaled by a learned layer scale (<c>gamma_1</c>, <c>gamma_2</c>).</summary>
public sealed class BeitBlock : nn.Module
{
    private readonly LayerNorm norm1;
    private readonly BeitAttention attn;
    private readonly LayerNorm norm2;
    private readonly BeitMlp mlp;
    private readonly Parameter gamma_1;
    private readonly Parameter gamma_2;
    private readonly double _dropPath;

    /// <summary>Creates block <paramref name="index"/> of <paramref name="config"/>.</summary>
    public BeitBlock(VitAdapterConfig config, int index, double dropPath) : base(nameof(BeitBlock))
    {
        var dim = config.EmbedDim;
        _dropPath = dropPath;
        norm1 = nn.LayerNorm(dim, VitAdapterConfig.LayerNormEps);
        attn = new BeitAttention(config, config.WindowSize[index], config.WindowAttention[index]);
        norm2 = nn.LayerNorm(dim, VitAdapterConfig.LayerNormEps);
        mlp = new BeitMlp(dim, (int)(dim * config.MlpRatio));
        gamma_1 = new Parameter(ones(dim).mul_(config.InitValues));
        gamma_2 = new Parameter(ones(dim).mul_(config.InitValues));
        gamma_1.DetachFromDisposeScope();
        gamma_2.DetachFromDisposeScope();
        RegisterComponents();
    }

    /// <summary>The block's attention.</summary>
    public BeitAttention Attention => attn;

    /// <summary>Tokens [B, H·W, C] of an H×W map → [B, H·W, C].</summary>
    public Tensor forward(Tensor x, long height, long width)
    {
        using var scope = NewDisposeScope();
        x = x + StochasticDepth.Apply(gamma_1 * attn.forward(norm1.forward(x), height, width), _dropPath, training);
        x = x + StochasticDepth.Apply(gamma_2 * mlp.forward(norm2.forward(x)), _dropPath, training);
        return x.MoveToOuterDisposeScope();
    }
}
