namespace Microsoft.ML.Mask2Former.Training.Modeling.Swin;

/// <summary>Window multi-head self-attention with a learned relative position bias.</summary>
public sealed class SwinSelfAttention : nn.Module
{
    private readonly Parameter relative_position_bias_table;
    private readonly Tensor relative_position_index;
    private readonly Linear query;
    private readonly Linear key;
    private readonly Linear value;
    private readonly int _heads;
    private readonly int _headDim;
    private readonly int _window;

    /// <summary>Creates the attention of a block with <paramref name="dim"/> channels.</summary>
    public SwinSelfAttention(SwinConfig config, int dim, int heads) : base(nameof(SwinSelfAttention))
    {
        _heads = heads;
        _headDim = dim / heads;
        _window = config.WindowSize;
        var side = 2 * _window - 1;
        // Built outside any caller dispose scope: module state must outlive the scope it was created in.
        relative_position_bias_table = new Parameter(zeros(side * side, heads));
        relative_position_bias_table.DetachFromDisposeScope();
        relative_position_index = RelativePositionIndex(_window).DetachFromDisposeScope();
        query = nn.Linear(dim, dim, hasBias: config.QkvBias);
        key = nn.Linear(dim, dim, hasBias: config.QkvBias);
        value = nn.Linear(dim, dim, hasBias: config.QkvBias);
        RegisterComponents();
    }

    /// <summary>
    /// For every pair of positions in a window, the row of the bias table of their offset:
    /// (dy + w - 1) · (2w - 1) + (dx + w - 1).
    /// </summary>
    internal static Tensor RelativePositionIndex(int window)
    {
        var n = window * window;
        var index = new long[n * n];
        for (var i = 0; i < n; i++)
        for (var j = 0; j < n; j++)
        {
            var dy = i / window - j / window + window - 1;
            var dx = i % window - j % window + window - 1;
            index[i * n + j] = dy * (2 * window - 1) + dx;
        }
        return tensor(index, new long[] { n, n });
    }

    /// <summary>
    /// Windows [nW·B, N, C] → [nW·B, N, C]. <paramref name="shiftMask"/> is the additive mask
    /// [nW, N, N] of a shifted block (0 inside a region, -100 across regions), or null.
    /// </summary>
    public Tensor forward(Tensor windows, Tensor? shiftMask)
    {
        using var scope = NewDisposeScope();
        var batchWindows = windows.shape[0];
        var n = windows.shape[1];
        Tensor Heads(Tensor x) => x.view(batchWindows, n, _heads, _headDim).permute(0, 2, 1, 3);
        var q = Heads(query.forward(windows));
        var k = Heads(key.forward(windows));
        var v = Heads(value.forward(windows));
        var scores = q.matmul(k.transpose(-1, -2)).div(Math.Sqrt(_headDim));
        var bias = relative_position_bias_table.index_select(0, relative_position_index.view(-1))
            .view(n, n, -1).permute(2, 0, 1);
        scores = scores + bias.unsqueeze(0);
        if (shiftMask is not null)
        {
            var windowsPerImage = shiftMask.shape[0];
            scores = scores.view(batchWindows / windowsPerImage, windowsPerImage, _heads, n, n) + shiftMask.unsqueeze(1).unsqueeze(0);
            scores = scores.view(-1, _heads, n, n);
        }
        var context = scores.softmax(-1).matmul(v);
        return context.permute(0, 2, 1, 3).reshape(batchWindows, n, _heads * _headDim).MoveToOuterDisposeScope();
    }
}
