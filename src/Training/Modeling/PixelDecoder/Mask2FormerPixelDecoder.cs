namespace Microsoft.ML.Mask2Former.Training.Modeling.PixelDecoder;

/// <summary>
/// The multi-scale deformable-attention pixel decoder: the stride 8/16/32 backbone maps are
/// projected (1×1 conv + GroupNorm), refined jointly by the deformable encoder (with sine position
/// and level embeddings), then an FPN level adds the stride-4 map (lateral 1×1 conv + GroupNorm,
/// bilinear upsampling, 3×3 conv + GroupNorm + ReLU) and a 1×1 projection gives the mask features.
/// </summary>
public sealed class Mask2FormerPixelDecoder : nn.Module
{
    private readonly Parameter level_embed;
    private readonly ModuleList<Sequential> input_projections;
    private readonly PixelDecoderEncoder encoder;
    private readonly Conv2d mask_projection;
    private readonly Sequential adapter_1;
    private readonly Sequential layer_1;
    private readonly int _featureSize;

    /// <summary>Creates the decoder for backbone maps of <paramref name="backboneChannels"/> (strides 4-32).</summary>
    public Mask2FormerPixelDecoder(Mask2FormerConfig config, IReadOnlyList<int> backboneChannels) : base(nameof(Mask2FormerPixelDecoder))
    {
        var dim = config.FeatureSize;
        _featureSize = dim;
        const int Levels = Mask2FormerConfig.FeatureLevels;
        level_embed = new Parameter(zeros(Levels, dim));
        level_embed.DetachFromDisposeScope();
        // Lowest resolution first: stride 32, 16, 8.
        input_projections = nn.ModuleList(backboneChannels.Skip(backboneChannels.Count - Levels).Reverse()
            .Select(channels => nn.Sequential(
                nn.Conv2d(channels, dim, kernel_size: 1),
                nn.GroupNorm(config.PixelDecoderNormGroups, dim))).ToArray());
        encoder = new PixelDecoderEncoder(config);
        mask_projection = nn.Conv2d(dim, config.MaskFeatureSize, kernel_size: 1);
        adapter_1 = nn.Sequential(
            nn.Conv2d(backboneChannels[0], dim, kernel_size: 1, bias: false),
            nn.GroupNorm(config.PixelDecoderNormGroups, dim));
        layer_1 = nn.Sequential(
            nn.Conv2d(dim, dim, kernel_size: 3, stride: 1, padding: 1, bias: false),
            nn.GroupNorm(config.PixelDecoderNormGroups, dim),
            nn.ReLU());
        RegisterComponents();
    }

    /// <summary>Zero level embeddings, as the reference initialises them.</summary>
    internal void ResetLevelEmbedding()
    {
        using var noGrad = no_grad();
        level_embed.zero_();
    }

    /// <summary>Backbone maps (strides 4, 8, 16, 32) → decoder output.</summary>
    public PixelDecoderOutput forward(IReadOnlyList<Tensor> features, bool keepEncoderLayers = false)
    {
        using var scope = NewDisposeScope();
        const int Levels = Mask2FormerConfig.FeatureLevels;
        var batch = features[0].shape[0];
        var embeds = new Tensor[Levels];
        var positions = new Tensor[Levels];
        var shapes = new (long Height, long Width)[Levels];
        for (var level = 0; level < Levels; level++)
        {
            var x = features[features.Count - 1 - level];
            var projected = input_projections[level].forward(x);
            shapes[level] = (projected.shape[2], projected.shape[3]);
            embeds[level] = projected.flatten(2).transpose(1, 2);
            var position = SinePositionEmbedding.Compute(batch, x.shape[2], x.shape[3], _featureSize / 2, x.dtype, x.device);
            positions[level] = position.flatten(2).transpose(1, 2) + level_embed[level].view(1, 1, -1);
        }
        var (last, perLayer) = encoder.forward(cat(embeds, 1), cat(positions, 1), shapes, keepEncoderLayers);

        var outputs = new List<Tensor>();
        long start = 0;
        foreach (var (h, w) in shapes)
        {
            outputs.Add(last.narrow(1, start, h * w).transpose(1, 2).reshape(batch, -1, h, w));
            start += h * w;
        }
        var lateral = adapter_1.forward(features[0]);
        var upsampled = nn.functional.interpolate(outputs[^1], size: new[] { lateral.shape[2], lateral.shape[3] }, mode: InterpolationMode.Bilinear, align_corners: false);
        var finest = layer_1.forward(lateral + upsampled);
        var maskFeatures = mask_projection.forward(finest);
        return new PixelDecoderOutput(
            outputs.Select(t => t.MoveToOuterDisposeScope()).ToArray(),
            maskFeatures.MoveToOuterDisposeScope(),
            keepEncoderLayers ? perLayer.Select(t => t.MoveToOuterDisposeScope()).ToArray() : Array.Empty<Tensor>());
    }
}
