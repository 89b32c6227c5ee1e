namespace Microsoft.ML.Mask2Former.Training.Modeling.VitAdapter;

/// <summary>
/// A ViT-Adapter backbone on the detection variant of BEiT (czczup/ViT-Adapter
/// <c>BEiTAdapter</c>, the backbone of the seed model): a plain ViT with windowed attention and
/// per-block relative position bias, plus the adapter — a convolutional spatial prior, injectors
/// and extractors (deformable attention) between the ViT and the prior at each interaction, and
/// a stride 4/8/16/32 output. Fields carry the upstream names; defaults are upstream's defaults,
/// except <see cref="Depth"/>…<see cref="InteractionIndexes"/>, which default to ViT-Adapter-L.
/// </summary>
public sealed class VitAdapterConfig : BackboneConfig
{
    /// <summary>The <c>model_type</c> written in our <c>config.json</c>.</summary>
    public const string Type = "beit_adapter";

    /// <inheritdoc/>
    public override string ModelType => Type;

    /// <summary>Side of a ViT patch (<c>patch_size</c>; 16, the only size the adapter's strides allow).</summary>
    public int PatchSize { get; init; } = 16;

    /// <summary>Input channels (3).</summary>
    public int NumChannels { get; init; } = 3;

    /// <summary>ViT width (<c>embed_dim</c>; 1024 for ViT-L).</summary>
    public int EmbedDim { get; init; } = 1024;

    /// <summary>ViT blocks (<c>depth</c>; 24 for ViT-L).</summary>
    public int Depth { get; init; } = 24;

    /// <summary>ViT attention heads (<c>num_heads</c>; 16 for ViT-L).</summary>
    public int NumHeads { get; init; } = 16;

    /// <summary>Hidden size of the block MLP relative to <see cref="EmbedDim"/> (<c>mlp_ratio</c>, 4).</summary>
    public double MlpRatio { get; init; } = 4.0;

    /// <summary>Query and value biases in the attention, no key bias (<c>qkv_bias</c>, true).</summary>
    public bool QkvBias { get; init; } = true;

    /// <summary>Initial layer scale of the blocks and the injectors (<c>init_values</c>; 1e-6 in the released config). Only new networks use it.</summary>
    public double InitValues { get; init; } = 1e-6;

    /// <summary>Stochastic depth rate, increased linearly over the blocks (<c>drop_path_rate</c>; training only).</summary>
    public double DropPathRate { get; init; } = 0.4;

    /// <summary>Whether each block attends within windows (<c>window_attn</c>), one entry per block.</summary>
    public IReadOnlyList<bool> WindowAttention { get; init; } = Enumerable.Repeat(true, 24).ToArray();

    /// <summary>Window side of each block (<c>window_size</c>); the size of its relative position bias table.</summary>
    public IReadOnlyList<int> WindowSize { get; init; } = Enumerable.Range(0, 24).Select(i => i % 6 == 5 ? 56 : 14).ToArray();

    /// <summary>First and last block of each interaction (<c>interaction_indexes</c>).</summary>
    public IReadOnlyList<IReadOnlyList<int>> InteractionIndexes { get; init; } = new[] { new[] { 0, 5 }, new[] { 6, 11 }, new[] { 12, 17 }, new[] { 18, 23 } };

    /// <summary>Channels of the spatial prior's stem (<c>conv_inplane</c>, 64).</summary>
    public int ConvInplane { get; init; } = 64;

    /// <summary>Sampling points per head and level of the adapter's deformable attention (<c>n_points</c>, 4).</summary>
    public int NumPoints { get; init; } = 4;

    /// <summary>Heads of the adapter's deformable attention (<c>deform_num_heads</c>; 16 for ViT-Adapter-L).</summary>
    public int DeformNumHeads { get; init; } = 16;

    /// <summary>Width of the deformable attention's values relative to <see cref="EmbedDim"/> (<c>deform_ratio</c>; 0.5 for ViT-Adapter-L).</summary>
    public double DeformRatio { get; init; } = 0.5;

    /// <summary>Hidden size of the extractors' convolutional FFN relative to <see cref="EmbedDim"/> (<c>cffn_ratio</c>, 0.25).</summary>
    public double CffnRatio { get; init; } = 0.25;

    /// <summary>Epsilon of every layer norm (1e-6, as BEiT).</summary>
    public const double LayerNormEps = 1e-6;

    /// <summary>Epsilon of the batch norms (1e-5).</summary>
    public const double BatchNormEps = 1e-5;

    /// <summary>Inputs must have sides that are a multiple of this (32: the coarsest prior level is stride 32).</summary>
    public const int SizeDivisor = 32;

    /// <summary>Value channels of the deformable attention: <c>int(EmbedDim · DeformRatio)</c>.</summary>
    public int DeformValueDim => (int)(EmbedDim * DeformRatio);

    /// <summary>Hidden channels of the extractors' FFN: <c>int(EmbedDim · CffnRatio)</c>.</summary>
    public int CffnHiddenDim => (int)(EmbedDim * CffnRatio);

    /// <inheritdoc/>
    public override IReadOnlyList<int> OutChannels => new[] { EmbedDim, EmbedDim, EmbedDim, EmbedDim };

    internal override void Check(List<string> problems)
    {
        base.Check(problems);
        if (PatchSize != 16) problems.Add($"beit_adapter patch_size must be 16 (the adapter reads the ViT at stride 16), got {PatchSize}");
        if (NumChannels <= 0) problems.Add($"beit_adapter num_channels must be positive, got {NumChannels}");
        if (EmbedDim <= 0 || Depth <= 0) problems.Add($"beit_adapter embed_dim and depth must be positive, got {EmbedDim} and {Depth}");
        if (NumHeads <= 0 || EmbedDim % NumHeads != 0) problems.Add($"beit_adapter embed_dim {EmbedDim} is not divisible by num_heads {NumHeads}");
        if (MlpRatio <= 0) problems.Add($"beit_adapter mlp_ratio must be positive, got {MlpRatio}");
        if (WindowAttention.Count != Depth) problems.Add($"beit_adapter window_attn has {WindowAttention.Count} entries for {Depth} blocks");
        if (WindowSize.Count != Depth) problems.Add($"beit_adapter window_size has {WindowSize.Count} entries for {Depth} blocks");
        foreach (var (size, i) in WindowSize.Select((s, i) => (s, i)))
            if (size <= 0) problems.Add($"beit_adapter window_size[{i}] must be positive, got {size}");
        if (ConvInplane <= 0) problems.Add($"beit_adapter conv_inplane must be positive, got {ConvInplane}");
        if (NumPoints <= 0) problems.Add($"beit_adapter n_points must be positive, got {NumPoints}");
        if (DeformNumHeads <= 0 || EmbedDim % DeformNumHeads != 0 || DeformValueDim % DeformNumHeads != 0 || DeformValueDim <= 0)
            problems.Add($"beit_adapter deformable attention: embed_dim {EmbedDim} and its value width {DeformValueDim} (deform_ratio {DeformRatio}) must be positive multiples of deform_num_heads {DeformNumHeads}");
        if (CffnHiddenDim <= 0) problems.Add($"beit_adapter cffn_ratio {CffnRatio} leaves no hidden channels");
        if (InteractionIndexes.Count == 0) problems.Add("beit_adapter needs at least one interaction (interaction_indexes is empty)");
        var next = 0;
        foreach (var (range, i) in InteractionIndexes.Select((r, i) => (r, i)))
        {
            if (range.Count != 2 || range[0] != next || range[1] < range[0] || range[1] >= Depth)
            {
                problems.Add($"beit_adapter interaction_indexes[{i}] = [{string.Join(", ", range)}]: interactions must cover the blocks 0..{Depth - 1} in order, each [first, last], the next starting at {next}");
                return;
            }
            next = range[1] + 1;
        }
        if (InteractionIndexes.Count > 0 && next != Depth) problems.Add($"beit_adapter interaction_indexes end at block {next - 1} but there are {Depth} blocks");
    }
}
