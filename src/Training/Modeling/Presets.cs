using Microsoft.ML.Mask2Former.Training.Modeling.ResNet;
using Microsoft.ML.Mask2Former.Training.Modeling.Swin;
using Microsoft.ML.Mask2Former.Training.Modeling.VitAdapter;
namespace Microsoft.ML.Mask2Former.Training.Modeling;

/// <summary>
/// Named configurations: the published Mask2Former models (COCO panoptic, 133 classes by
/// default) and the small reference model of the parity tests.
/// </summary>
public static class Presets
{
    /// <summary>Names accepted by <see cref="Get"/>.</summary>
    public static IReadOnlyList<string> Names { get; } = new[] { "small", "swin-tiny", "swin-small", "swin-base", "swin-large", "resnet-50", "resnet-101", "vit-adapter-l-coco-panoptic", "vit-adapter-tiny" };

    /// <summary>A preset by name (case-insensitive), with <paramref name="numLabels"/> classes (133 when omitted; 10 for "small").</summary>
    /// <exception cref="ArgumentException">Unknown name.</exception>
    public static Mask2FormerConfig Get(string name, int? numLabels = null) => name.ToLowerInvariant() switch
    {
        "small" => Small(numLabels ?? 10),
        "swin-tiny" or "swin-t" => SwinTiny(numLabels ?? 133),
        "swin-small" or "swin-s" => SwinSmall(numLabels ?? 133),
        "swin-base" or "swin-b" => SwinBase(numLabels ?? 133),
        "swin-large" or "swin-l" => SwinLarge(numLabels ?? 133),
        "resnet-50" or "r50" => ResNet50(numLabels ?? 133),
        "resnet-101" or "r101" => ResNet101(numLabels ?? 133),
        "vit-adapter-l-coco-panoptic" => VitAdapterLargeCocoPanoptic(numLabels ?? 133),
        "vit-adapter-tiny" => VitAdapterTiny(numLabels ?? 10),
        _ => throw new ArgumentException($"Unknown preset '{name}'; known: {string.Join(", ", Names)}.", nameof(name)),
    };

    /// <summary>
    /// The small reference model (../shared/reference/model/small_config.json): Swin embed 32,
    /// depths 2-2-2-2, heads 1-2-4-8; 64 channels; 2 encoder layers; 3 decoder layers; 12 queries.
    /// </summary>
    public static Mask2FormerConfig Small(int numLabels = 10) => new()
    {
        Backbone = new SwinConfig { EmbedDim = 32, Depths = new[] { 2, 2, 2, 2 }, NumHeads = new[] { 1, 2, 4, 8 }, DropPathRate = 0.0 },
        FeatureSize = 64,
        MaskFeatureSize = 64,
        HiddenDim = 64,
        EncoderFeedforwardDim = 128,
        EncoderLayers = 2,
        DecoderLayers = 4,
        NumAttentionHeads = 4,
        DimFeedforward = 128,
        NumQueries = 12,
        Labels = ClassNames(numLabels, "class_"),
    };

    /// <summary>Mask2Former Swin-T (embed 96, depths 2-2-6-2, heads 3-6-12-24, window 7).</summary>
    public static Mask2FormerConfig SwinTiny(int numLabels = 133) =>
        WithSwin(new SwinConfig { EmbedDim = 96, Depths = new[] { 2, 2, 6, 2 }, NumHeads = new[] { 3, 6, 12, 24 }, WindowSize = 7, DropPathRate = 0.3 }, numLabels, 100);

    /// <summary>Mask2Former Swin-S (embed 96, depths 2-2-18-2, heads 3-6-12-24, window 7).</summary>
    public static Mask2FormerConfig SwinSmall(int numLabels = 133) =>
        WithSwin(new SwinConfig { EmbedDim = 96, Depths = new[] { 2, 2, 18, 2 }, NumHeads = new[] { 3, 6, 12, 24 }, WindowSize = 7, DropPathRate = 0.3 }, numLabels, 100);

    /// <summary>Mask2Former Swin-B (ImageNet-22k 384: embed 128, depths 2-2-18-2, heads 4-8-16-32, window 12).</summary>
    public static Mask2FormerConfig SwinBase(int numLabels = 133) =>
        WithSwin(new SwinConfig { EmbedDim = 128, Depths = new[] { 2, 2, 18, 2 }, NumHeads = new[] { 4, 8, 16, 32 }, WindowSize = 12, DropPathRate = 0.3 }, numLabels, 100);

    /// <summary>Mask2Former Swin-L (ImageNet-22k 384: embed 192, depths 2-2-18-2, heads 6-12-24-48, window 12; 200 queries).</summary>
    public static Mask2FormerConfig SwinLarge(int numLabels = 133) =>
        WithSwin(new SwinConfig { EmbedDim = 192, Depths = new[] { 2, 2, 18, 2 }, NumHeads = new[] { 6, 12, 24, 48 }, WindowSize = 12, DropPathRate = 0.3 }, numLabels, 200);

    /// <summary>Mask2Former R50 (bottleneck 3-4-6-3).</summary>
    public static Mask2FormerConfig ResNet50(int numLabels = 133) => new()
    {
        Backbone = new ResNetConfig { Depths = new[] { 3, 4, 6, 3 } },
        Labels = ClassNames(numLabels, "LABEL_"),
    };

    /// <summary>Mask2Former R101 (bottleneck 3-4-23-3).</summary>
    public static Mask2FormerConfig ResNet101(int numLabels = 133) => new()
    {
        Backbone = new ResNetConfig { Depths = new[] { 3, 4, 23, 3 } },
        Labels = ClassNames(numLabels, "LABEL_"),
    };

    /// <summary>
    /// The seed model: Mask2Former + ViT-Adapter-L on BEiTv2-L exactly as released
    /// (czczup/ViT-Adapter <c>mask2former_beitv2_adapter_large_16x1_3x_coco-panoptic.py</c>, 58.4 PQ on
    /// COCO val): embed 1024, depth 24, 16 heads, every block windowed (14, and 56 at blocks
    /// 5/11/17/23), interactions [0-5] [6-11] [12-17] [18-23], 16 deformable heads, deform ratio 0.5,
    /// CFFN ratio 0.25, stem 64, layer scale 1e-6, drop path 0.4; head 256 channels, 6 encoder
    /// layers (8 heads, FFN 1024), 9 decoder layers (FFN 2048), 100 queries, GroupNorm 32;
    /// 133 classes. 347,974,534 parameters with 133 classes, 327,380,032 of them in the backbone (built with random weights and counted).
    /// </summary>
    public static Mask2FormerConfig VitAdapterLargeCocoPanoptic(int numLabels = 133) => new()
    {
        Backbone = new VitAdapterConfig(),
        NumQueries = 100,
        Labels = ClassNames(numLabels, "LABEL_"),
    };

    /// <summary>
    /// A small ViT-Adapter Mask2Former for CPU work: the reference model's shape
    /// (../shared/reference/vit_adapter: embed 64, depth 4, 4 heads, windows 4-4-4-12, one block per
    /// interaction, stem 16, 4 deformable heads, deform ratio 0.5; head 32 channels, GroupNorm 8,
    /// 2 encoder and 3 decoder layers, 4 heads, FFN 64, 10 queries), with 10 classes by default.
    /// </summary>
    public static Mask2FormerConfig VitAdapterTiny(int numLabels = 10) => new()
    {
        Backbone = new VitAdapterConfig
        {
            EmbedDim = 64,
            Depth = 4,
            NumHeads = 4,
            InitValues = 0.1,
            DropPathRate = 0.1,
            WindowAttention = new[] { true, true, true, true },
            WindowSize = new[] { 4, 4, 4, 12 },
            InteractionIndexes = new[] { new[] { 0, 0 }, new[] { 1, 1 }, new[] { 2, 2 }, new[] { 3, 3 } },
            ConvInplane = 16,
            DeformNumHeads = 4,
        },
        FeatureSize = 32,
        MaskFeatureSize = 32,
        HiddenDim = 32,
        PixelDecoderNormGroups = 8,
        EncoderFeedforwardDim = 64,
        EncoderLayers = 2,
        DecoderLayers = 4,
        NumAttentionHeads = 4,
        DimFeedforward = 64,
        NumQueries = 10,
        Labels = ClassNames(numLabels, "class_"),
    };

    private static Mask2FormerConfig WithSwin(SwinConfig swin, int numLabels, int queries) => new()
    {
        Backbone = swin,
        NumQueries = queries,
        Labels = ClassNames(numLabels, "LABEL_"),
    };

    private static string[] ClassNames(int count, string prefix)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        return Enumerable.Range(0, count).Select(i => prefix + i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
    }
}
