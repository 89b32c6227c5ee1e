namespace Microsoft.ML.Mask2Former.Training.Modeling.Swin;

/// <summary>A Swin Transformer backbone (Hugging Face <c>SwinConfig</c> fields that shape the network).</summary>
public sealed class SwinConfig : BackboneConfig
{
    /// <inheritdoc/>
    public override string ModelType => "swin";

    /// <summary>Channels after patch embedding (96 for Swin-T/S, 128 for B, 192 for L).</summary>
    public int EmbedDim { get; init; } = 96;

    /// <summary>Blocks per stage.</summary>
    public IReadOnlyList<int> Depths { get; init; } = new[] { 2, 2, 6, 2 };

    /// <summary>Attention heads per stage.</summary>
    public IReadOnlyList<int> NumHeads { get; init; } = new[] { 3, 6, 12, 24 };

    /// <summary>Side of the attention window (7; 12 for the ImageNet-22k 384 models).</summary>
    public int WindowSize { get; init; } = 7;

    /// <summary>Side of a patch (4).</summary>
    public int PatchSize { get; init; } = 4;

    /// <summary>Input channels (3).</summary>
    public int NumChannels { get; init; } = 3;

    /// <summary>Hidden size of the block MLP relative to the block width (4).</summary>
    public double MlpRatio { get; init; } = 4.0;

    /// <summary>Whether query/key/value projections have a bias (true).</summary>
    public bool QkvBias { get; init; } = true;

    /// <summary>Epsilon of the block layer norms (1e-5).</summary>
    public double LayerNormEps { get; init; } = 1e-5;

    /// <summary>Stochastic depth rate, increased linearly over the blocks (training only).</summary>
    public double DropPathRate { get; init; } = 0.1;

    /// <summary>Activation of the block MLP (Hugging Face <c>hidden_act</c>; "gelu").</summary>
    public string HiddenAct { get; init; } = "gelu";

    /// <summary>Channels of stage <paramref name="stage"/> (0-based): <c>EmbedDim · 2^stage</c>.</summary>
    public int StageDim(int stage) => EmbedDim << stage;

    /// <inheritdoc/>
    public override IReadOnlyList<int> OutChannels => Enumerable.Range(0, Depths.Count).Select(StageDim).ToArray();

    internal override void Check(List<string> problems)
    {
        base.Check(problems);
        if (Depths.Count != 4) problems.Add($"swin depths must have 4 stages, got {Depths.Count}");
        if (NumHeads.Count != Depths.Count) problems.Add($"swin num_heads has {NumHeads.Count} entries but depths has {Depths.Count}");
        if (EmbedDim <= 0) problems.Add($"swin embed_dim must be positive, got {EmbedDim}");
        if (WindowSize <= 0) problems.Add($"swin window_size must be positive, got {WindowSize}");
        if (PatchSize <= 0) problems.Add($"swin patch_size must be positive, got {PatchSize}");
        if (NumChannels <= 0) problems.Add($"swin num_channels must be positive, got {NumChannels}");
        if (MlpRatio <= 0) problems.Add($"swin mlp_ratio must be positive, got {MlpRatio}");
        if (HiddenAct != "gelu") problems.Add($"swin hidden_act '{HiddenAct}' is not supported (only gelu)");
        for (var i = 0; i < Math.Min(Depths.Count, NumHeads.Count); i++)
        {
            if (Depths[i] <= 0) problems.Add($"swin depths[{i}] must be positive, got {Depths[i]}");
            if (NumHeads[i] <= 0 || StageDim(i) % NumHeads[i] != 0)
                problems.Add($"swin stage {i + 1} has {StageDim(i)} channels, not divisible by num_heads[{i}] = {NumHeads[i]}");
        }
    }
}
