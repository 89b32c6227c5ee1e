using System.Globalization;
using Microsoft.ML.Mask2Former.Training.Modeling.ResNet;
using Microsoft.ML.Mask2Former.Training.Modeling.Swin;

namespace Microsoft.ML.Mask2Former.Training.Modeling;

/// <summary>
/// The approximate number of parameters a <see cref="Mask2FormerConfig"/> builds, from its widths
/// and depths alone, so that a configuration with absurd sizes is refused with its numbers before
/// libtorch is asked for tens of gigabytes (which it refuses with an allocator error, or worse,
/// grants and leaves the machine swapping). The estimate counts the weight matrices (biases and
/// norms are a small fraction): within 5 % of the real count for the tiny test network, the small
/// preset and ResNet-50 (tested).
/// </summary>
internal static class ModelSizeEstimate
{
    /// <summary>Bytes per parameter (float32).</summary>
    private const double BytesPerParameter = 4;

    /// <summary>The estimated parameter count (as a double: absurd configurations overflow 64 bits).</summary>
    public static double Parameters(Mask2FormerConfig config)
    {
        double f = config.FeatureSize, h = config.HiddenDim, m = config.MaskFeatureSize;
        var backbone = Backbone(config.Backbone);
        // Input projections of the three coarser maps, the 1×1 lateral and 3×3 output convs of the finest.
        var projections = config.Backbone.OutChannels.Sum(c => (double)c) * f + 9 * f * f + f * m;
        // Deformable encoder layers: value / output projections, offsets and weights (heads × 3 levels × 4 points × 3), feed-forward.
        var encoder = config.EncoderLayers * (2 * f * f + f * config.NumAttentionHeads * Mask2FormerConfig.FeatureLevels * 4 * 3 + 2 * f * config.EncoderFeedforwardDim);
        // Masked-attention decoder layers (self and cross attention, feed-forward), queries, heads.
        var decoder = Math.Max(0, config.DecoderLayers - 1) * (8 * h * h + 2 * h * config.DimFeedforward) + 2 * config.NumQueries * h
            + h * (config.NumLabels + 1) + 2 * h * h + h * m;
        return backbone + projections + encoder + decoder;
    }

    /// <summary>Refuses a configuration whose weights alone would not fit in the memory this process may use.</summary>
    /// <exception cref="ArgumentException">The weights need more memory than is available; the message gives both.</exception>
    public static void CheckFits(Mask2FormerConfig config)
    {
        var bytes = Parameters(config) * BytesPerParameter;
        var available = (double)GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        if (bytes > available)
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"the configuration builds about {Parameters(config):G3} parameters, {bytes / (1 << 30):F1} GiB of weights, more than the {available / (1 << 30):F1} GiB of memory available (feature_size {config.FeatureSize}, hidden_dim {config.HiddenDim}, dim_feedforward {config.DimFeedforward}, encoder_feedforward_dim {config.EncoderFeedforwardDim}, num_queries {config.NumQueries}, {config.NumLabels} classes, {config.EncoderLayers} encoder and {config.DecoderLayers} decoder layers)"));
    }

    private static double Backbone(BackboneConfig backbone) => backbone switch
    {
        // Each Swin block: qkv and projection (4 C²) and an MLP of ratio r (2 r C²); patch merging 2 C² per stage.
        SwinConfig swin => Enumerable.Range(0, swin.Depths.Count).Sum(s =>
        {
            var c = (double)swin.EmbedDim * Math.Pow(2, s);
            return swin.Depths[s] * (4 + 2 * swin.MlpRatio) * c * c + 2 * c * c;
        }),
        // Each bottleneck block of width w: 1×1 to w/4, 3×3, 1×1 back (about 1.06 w²).
        ResNetConfig resnet => Enumerable.Range(0, resnet.Depths.Count).Sum(s => resnet.Depths[s] * 1.0625 * resnet.HiddenSizes[s] * (double)resnet.HiddenSizes[s]),
        _ => backbone.OutChannels.Sum(c => 50.0 * c * c),
    };
}
