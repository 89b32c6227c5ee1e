namespace Microsoft.ML.Mask2Former.Training.Modeling.VitAdapter;

/// <summary>
/// The extractor FFN's depthwise 3×3 convolution (upstream <c>DWConv</c>, whose convolution is
/// named <c>dwconv</c> too), applied to each prior level's token map separately with shared weights.
/// </summary>
public sealed class DepthwiseConv : nn.Module
{
    private readonly Conv2d dwconv;

    /// <summary>Creates the convolution over <paramref name="channels"/> channels.</summary>
    public DepthwiseConv(int channels) : base(nameof(DepthwiseConv))
    {
        dwconv = nn.Conv2d(channels, channels, kernel_size: 3, stride: 1, padding: 1, groups: channels);
        RegisterComponents();
    }

    /// <summary>Prior tokens [B, n2 + n3 + n4, C] of <paramref name="grid"/> → the same shape.</summary>
    internal Tensor forward(Tensor x, AdapterGrid grid)
    {
        using var scope = NewDisposeScope();
        var (batch, channels) = (x.shape[0], x.shape[2]);
        var levels = grid.PriorLevels;
        var parts = x.split(grid.PriorCounts, 1);
        var convolved = parts.Select((part, i) =>
            dwconv.forward(part.transpose(1, 2).reshape(batch, channels, levels[i].Height, levels[i].Width)).flatten(2).transpose(1, 2)).ToArray();
        return cat(convolved, 1).MoveToOuterDisposeScope();
    }
}
