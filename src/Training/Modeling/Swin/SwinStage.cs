namespace Microsoft.ML.Mask2Former.Training.Modeling.Swin;

/// <summary>The blocks of one resolution, then (except in the last stage) patch merging.</summary>
public sealed class SwinStage : nn.Module
{
    private readonly ModuleList<SwinLayer> blocks;
    private readonly SwinPatchMerging? downsample;

    /// <summary>Creates stage <paramref name="stage"/> (0-based) with the given per-block drop-path rates.</summary>
    public SwinStage(SwinConfig config, int stage, IReadOnlyList<double> dropPath) : base(nameof(SwinStage))
    {
        var dim = config.StageDim(stage);
        blocks = nn.ModuleList(Enumerable.Range(0, config.Depths[stage])
            .Select(i => new SwinLayer(config, dim, config.NumHeads[stage], shifted: i % 2 == 1, dropPath[i])).ToArray());
        if (stage < config.Depths.Count - 1) downsample = new SwinPatchMerging(dim);
        RegisterComponents();
    }

    /// <summary>
    /// Tokens of an H×W map → the tokens before merging (what the backbone outputs) and the
    /// merged tokens for the next stage (null in the last stage).
    /// </summary>
    public (Tensor BeforeDownsampling, Tensor? Downsampled) forward(Tensor tokens, long height, long width)
    {
        using var scope = NewDisposeScope();
        var x = tokens;
        foreach (var block in blocks) x = block.forward(x, height, width);
        var merged = downsample?.forward(x, height, width);
        return (x.MoveToOuterDisposeScope(), merged?.MoveToOuterDisposeScope());
    }
}
