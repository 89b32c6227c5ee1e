namespace Microsoft.ML.Mask2Former.Training.Modeling.TransformerDecoder;

/// <summary>
/// The masked-attention transformer decoder: <c>decoder_layers - 1</c> layers going round-robin over
/// the three feature levels (lowest resolution first); a prediction from the learned query
/// features before the first layer and after every layer (deep supervision), each one giving the
/// attention mask of the next layer.
/// </summary>
public sealed class MaskedAttentionDecoder : nn.Module
{
    private readonly ModuleList<MaskedAttentionDecoderLayer> layers;
    private readonly LayerNorm layernorm;
    private readonly MaskPredictor mask_predictor;

    /// <summary>Creates the decoder of <paramref name="config"/>.</summary>
    public MaskedAttentionDecoder(Mask2FormerConfig config) : base(nameof(MaskedAttentionDecoder))
    {
        layers = nn.ModuleList(Enumerable.Range(0, config.TransformerDecoderLayers).Select(_ => new MaskedAttentionDecoderLayer(config)).ToArray());
        layernorm = nn.LayerNorm(config.HiddenDim);
        mask_predictor = new MaskPredictor(config);
        RegisterComponents();
    }

    /// <summary>
    /// <paramref name="queryFeatures"/> and <paramref name="queryPosition"/> [Q, B, C];
    /// <paramref name="memories"/> and <paramref name="memoryPositions"/> per level [h·w, B, C] of
    /// size <paramref name="sizes"/>; <paramref name="pixelEmbeddings"/> [B, C, H/4, W/4].
    /// </summary>
    public DecoderOutput forward(Tensor queryFeatures, Tensor queryPosition, IReadOnlyList<Tensor> memories, IReadOnlyList<Tensor> memoryPositions,
        IReadOnlyList<(long Height, long Width)> sizes, Tensor pixelEmbeddings)
    {
        using var scope = NewDisposeScope();
        var levels = memories.Count;
        var hiddenStates = new List<Tensor> { queryFeatures };
        var intermediate = new List<Tensor>();
        var masks = new List<Tensor>();
        var normed = layernorm.forward(queryFeatures);
        intermediate.Add(normed);
        var (maskLogits, attend) = mask_predictor.forward(normed, pixelEmbeddings, sizes[0].Height, sizes[0].Width);
        masks.Add(maskLogits);
        var hidden = queryFeatures;
        for (var i = 0; i < layers.Count; i++)
        {
            var level = i % levels;
            hidden = layers[i].forward(hidden, queryPosition, memories[level], memoryPositions[level], attend);
            hiddenStates.Add(hidden);
            normed = layernorm.forward(hidden);
            intermediate.Add(normed);
            var next = sizes[(i + 1) % levels];
            (maskLogits, attend) = mask_predictor.forward(normed, pixelEmbeddings, next.Height, next.Width);
            masks.Add(maskLogits);
        }
        // The input query features belong to the caller; return a copy so the output owns all it holds.
        hiddenStates[0] = queryFeatures.clone();
        return new DecoderOutput(
            hiddenStates.Select(t => t.MoveToOuterDisposeScope()).ToArray(),
            intermediate.Select(t => t.MoveToOuterDisposeScope()).ToArray(),
            masks.Select(t => t.MoveToOuterDisposeScope()).ToArray());
    }
}
