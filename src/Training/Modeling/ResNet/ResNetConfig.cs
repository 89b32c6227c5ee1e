namespace Microsoft.ML.Mask2Former.Training.Modeling.ResNet;

/// <summary>
/// A ResNet backbone of bottleneck blocks (ResNet-50: 3-4-6-3, ResNet-101: 3-4-23-3) with frozen
/// batch norm. Read from a Hugging Face <c>ResNetConfig</c>; the parameters follow torchvision's
/// names (<c>conv1</c>, <c>bn1</c>, <c>layer1.0.conv1</c>, <c>layer1.0.downsample.0</c>, …).
/// </summary>
public sealed class ResNetConfig : BackboneConfig
{
    /// <inheritdoc/>
    public override string ModelType => "resnet";

    /// <summary>Bottleneck blocks per stage.</summary>
    public IReadOnlyList<int> Depths { get; init; } = new[] { 3, 4, 6, 3 };

    /// <summary>Output channels per stage (4 × the bottleneck width).</summary>
    public IReadOnlyList<int> HiddenSizes { get; init; } = new[] { 256, 512, 1024, 2048 };

    /// <summary>Channels of the 7×7 stem convolution (64).</summary>
    public int EmbeddingSize { get; init; } = 64;

    /// <summary>Input channels (3).</summary>
    public int NumChannels { get; init; } = 3;

    /// <summary>Epsilon of the frozen batch norms (1e-5, as torchvision).</summary>
    public double BatchNormEps { get; init; } = 1e-5;

    /// <inheritdoc/>
    public override IReadOnlyList<int> OutChannels => HiddenSizes;

    internal override void Check(List<string> problems)
    {
        base.Check(problems);
        if (Depths.Count != 4) problems.Add($"resnet depths must have 4 stages, got {Depths.Count}");
        if (HiddenSizes.Count != Depths.Count) problems.Add($"resnet hidden_sizes has {HiddenSizes.Count} entries but depths has {Depths.Count}");
        if (EmbeddingSize <= 0) problems.Add($"resnet embedding_size must be positive, got {EmbeddingSize}");
        foreach (var (depth, i) in Depths.Select((d, i) => (d, i)))
            if (depth <= 0) problems.Add($"resnet depths[{i}] must be positive, got {depth}");
        foreach (var (size, i) in HiddenSizes.Select((s, i) => (s, i)))
            if (size <= 0 || size % 4 != 0) problems.Add($"resnet hidden_sizes[{i}] = {size} must be a positive multiple of 4 (bottleneck expansion)");
    }
}
