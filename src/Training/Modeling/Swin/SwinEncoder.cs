namespace Microsoft.ML.Mask2Former.Training.Modeling.Swin;

/// <summary>The four Swin stages (Hugging Face <c>encoder.layers</c>).</summary>
public sealed class SwinEncoder : nn.Module
{
    private readonly ModuleList<SwinStage> layers;

    /// <summary>Creates the stages; drop-path rates grow linearly from 0 to <c>drop_path_rate</c> over all blocks.</summary>
    public SwinEncoder(SwinConfig config) : base(nameof(SwinEncoder))
    {
        var total = config.Depths.Sum();
        var rates = Enumerable.Range(0, total).Select(i => total == 1 ? 0.0 : config.DropPathRate * i / (total - 1)).ToArray();
        var stages = new SwinStage[config.Depths.Count];
        for (int s = 0, first = 0; s < stages.Length; first += config.Depths[s], s++)
            stages[s] = new SwinStage(config, s, rates[first..(first + config.Depths[s])]);
        layers = nn.ModuleList(stages);
        RegisterComponents();
    }

    /// <summary>Tokens of the patch grid → per stage, the tokens before merging and the grid they lie on.</summary>
    public IReadOnlyList<(Tensor Tokens, long Height, long Width)> forward(Tensor tokens, long height, long width)
    {
        using var scope = NewDisposeScope();
        var outputs = new List<(Tensor, long, long)>();
        Tensor? x = tokens;
        foreach (var stage in layers)
        {
            var (before, merged) = stage.forward(x!, height, width);
            outputs.Add((before.MoveToOuterDisposeScope(), height, width));
            x = merged;
            height = (height + 1) / 2;
            width = (width + 1) / 2;
        }
        return outputs;
    }
}
