using Microsoft.ML.Mask2Former.Training.Modeling.PixelDecoder;

namespace Microsoft.ML.Mask2Former.Training.Modeling.TransformerDecoder;

/// <summary>
/// Prepares the decoder's inputs: learned query features and query positions, the three pixel
/// decoder levels flattened sequence-first with their sine position and a learned level embedding.
/// </summary>
public sealed class TransformerModule : nn.Module
{
    private readonly Embedding queries_embedder;
    private readonly Embedding queries_features;
    private readonly MaskedAttentionDecoder decoder;
    private readonly Embedding level_embed;
    private readonly ModuleList<Conv2d>? input_projections;
    private readonly int _hiddenDim;

    /// <summary>Creates the module of <paramref name="config"/>.</summary>
    public TransformerModule(Mask2FormerConfig config) : base(nameof(TransformerModule))
    {
        _hiddenDim = config.HiddenDim;
        queries_embedder = nn.Embedding(config.NumQueries, config.HiddenDim);
        queries_features = nn.Embedding(config.NumQueries, config.HiddenDim);
        decoder = new MaskedAttentionDecoder(config);
        level_embed = nn.Embedding(Mask2FormerConfig.FeatureLevels, config.HiddenDim);
        // The reference keeps these in a plain list (never saved); identity whenever the widths agree, as in every published model.
        if (config.FeatureSize != config.HiddenDim || config.EnforceInputProjection)
            input_projections = nn.ModuleList(Enumerable.Range(0, Mask2FormerConfig.FeatureLevels).Select(_ => nn.Conv2d(config.FeatureSize, config.HiddenDim, kernel_size: 1)).ToArray());
        RegisterComponents();
    }

    /// <summary>Multi-scale features (strides 32, 16, 8) and mask features → decoder output.</summary>
    public DecoderOutput forward(IReadOnlyList<Tensor> multiScaleFeatures, Tensor maskFeatures)
    {
        using var scope = NewDisposeScope();
        var levels = Mask2FormerConfig.FeatureLevels;
        var memories = new Tensor[levels];
        var positions = new Tensor[levels];
        var sizes = new (long Height, long Width)[levels];
        var batch = maskFeatures.shape[0];
        for (var i = 0; i < levels; i++)
        {
            var x = multiScaleFeatures[i];
            sizes[i] = (x.shape[2], x.shape[3]);
            positions[i] = SinePositionEmbedding.Compute(batch, x.shape[2], x.shape[3], _hiddenDim / 2, x.dtype, x.device).flatten(2).permute(2, 0, 1);
            var projected = input_projections is null ? x : input_projections[i].forward(x);
            memories[i] = (projected.flatten(2) + level_embed.weight![i].view(1, -1, 1)).permute(2, 0, 1);
        }
        var queryPosition = queries_embedder.weight!.unsqueeze(1).expand(-1, batch, -1);
        var queryFeatures = queries_features.weight!.unsqueeze(1).expand(-1, batch, -1);
        return decoder.forward(queryFeatures, queryPosition, memories, positions, sizes, maskFeatures).MoveToOuterDisposeScope();
    }
}
