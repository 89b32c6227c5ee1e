namespace Microsoft.ML.Mask2Former.Training.Modeling.Swin;

/// <summary>
/// Swin Transformer as a Mask2Former backbone (Hugging Face <c>SwinBackbone</c>): the tokens of
/// each stage before patch merging, layer-normed per stage (<c>hidden_states_norms</c>) and laid
/// out as feature maps [B, C, H, W] at strides 4, 8, 16, 32.
/// </summary>
public sealed class SwinBackbone : Backbone
{
    private readonly SwinEmbeddings embeddings;
    private readonly SwinEncoder encoder;
    private readonly ModuleDict<LayerNorm> hidden_states_norms;
    private readonly SwinConfig _config;

    /// <summary>Creates the backbone of <paramref name="config"/> (random weights).</summary>
    public SwinBackbone(SwinConfig config) : base(nameof(SwinBackbone))
    {
        _config = config;
        embeddings = new SwinEmbeddings(config);
        encoder = new SwinEncoder(config);
        hidden_states_norms = nn.ModuleDict(config.OutFeatures.Select((name, i) => (name, nn.LayerNorm(config.StageDim(i)))).ToArray());
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override IReadOnlyList<int> OutChannels => _config.OutChannels;

    /// <inheritdoc/>
    public override Tensor[] forward(Tensor pixelValues)
    {
        using var trace = ForwardWithTokens(pixelValues);
        return trace.TakeFeatureMaps();
    }

    /// <summary>The feature maps together with the patch embeddings and every stage's tokens (for parity checks).</summary>
    internal SwinTrace ForwardWithTokens(Tensor pixelValues)
    {
        using var scope = NewDisposeScope();
        var (tokens, height, width) = embeddings.forward(pixelValues);
        var stages = encoder.forward(tokens, height, width);
        var maps = new Tensor[stages.Count];
        for (var i = 0; i < stages.Count; i++)
        {
            var (stageTokens, h, w) = stages[i];
            var normed = hidden_states_norms[_config.OutFeatures[i]].forward(stageTokens);
            maps[i] = normed.view(normed.shape[0], h, w, -1).permute(0, 3, 1, 2).contiguous().MoveToOuterDisposeScope();
        }
        return new SwinTrace(tokens.MoveToOuterDisposeScope(), stages.Select(s => s.Tokens.MoveToOuterDisposeScope()).ToArray(), maps);
    }
}

/// <summary>Intermediate results of <see cref="SwinBackbone"/>; disposing releases whatever was not taken.</summary>
internal sealed class SwinTrace : IDisposable
{
    private Tensor[]? _maps;

    public SwinTrace(Tensor patchEmbeddings, Tensor[] stageTokens, Tensor[] maps)
    {
        PatchEmbeddings = patchEmbeddings;
        StageTokens = stageTokens;
        _maps = maps;
    }

    public Tensor PatchEmbeddings { get; }

    public IReadOnlyList<Tensor> StageTokens { get; }

    public IReadOnlyList<Tensor> FeatureMaps => _maps ?? throw new ObjectDisposedException(nameof(SwinTrace));

    public Tensor[] TakeFeatureMaps()
    {
        var maps = _maps ?? throw new ObjectDisposedException(nameof(SwinTrace));
        _maps = null;
        return maps;
    }

    public void Dispose()
    {
        PatchEmbeddings.Dispose();
        foreach (var t in StageTokens) t.Dispose();
        if (_maps is not null) foreach (var t in _maps) t.Dispose();
        _maps = null;
    }
}
