namespace Microsoft.ML.Mask2Former.Training.Modeling.Swin;

/// <summary>
/// One Swin block: (shifted) window attention and an MLP, each pre-normed with a residual. As in
/// the Hugging Face backbone (<c>always_partition</c>), the window and shift stay fixed whatever the
/// feature-map size: the map is zero-padded at right/bottom to a multiple of the window (after the
/// norm, so padding tokens are zeros), and odd blocks roll it by half a window.
/// </summary>
public sealed class SwinLayer : nn.Module
{
    private readonly LayerNorm layernorm_before;
    private readonly SwinAttention attention;
    private readonly LayerNorm layernorm_after;
    private readonly SwinIntermediate intermediate;
    private readonly SwinOutput output;
    private readonly int _window;
    private readonly int _shift;
    private readonly double _dropPath;

    /// <summary>Creates a block with <paramref name="dim"/> channels; <paramref name="shifted"/> for odd blocks.</summary>
    public SwinLayer(SwinConfig config, int dim, int heads, bool shifted, double dropPath) : base(nameof(SwinLayer))
    {
        _window = config.WindowSize;
        _shift = shifted ? config.WindowSize / 2 : 0;
        _dropPath = dropPath;
        layernorm_before = nn.LayerNorm(dim, config.LayerNormEps);
        attention = new SwinAttention(config, dim, heads);
        layernorm_after = nn.LayerNorm(dim, config.LayerNormEps);
        intermediate = new SwinIntermediate(config, dim);
        output = new SwinOutput(config, dim);
        RegisterComponents();
    }

    /// <summary>Tokens [B, H·W, C] of an H×W map → tokens of the same shape.</summary>
    public Tensor forward(Tensor tokens, long height, long width)
    {
        using var scope = NewDisposeScope();
        var batch = tokens.shape[0];
        var channels = tokens.shape[2];
        var x = layernorm_before.forward(tokens).view(batch, height, width, channels);
        var padRight = (_window - width % _window) % _window;
        var padBottom = (_window - height % _window) % _window;
        if (padRight > 0 || padBottom > 0) x = nn.functional.pad(x, new long[] { 0, 0, 0, padRight, 0, padBottom });
        var paddedHeight = height + padBottom;
        var paddedWidth = width + padRight;
        if (_shift > 0) x = roll(x, new long[] { -_shift, -_shift }, new long[] { 1, 2 });

        var windows = Partition(x, _window);
        var mask = _shift > 0 ? ShiftMask(paddedHeight, paddedWidth, _window, _shift, x.dtype, x.device) : null;
        var attended = attention.forward(windows, mask);
        x = Reverse(attended, _window, batch, paddedHeight, paddedWidth);

        if (_shift > 0) x = roll(x, new long[] { _shift, _shift }, new long[] { 1, 2 });
        if (padRight > 0 || padBottom > 0) x = x[.., ..(int)height, ..(int)width, ..];
        var hidden = tokens + DropPath(x.reshape(batch, height * width, channels));
        var result = hidden + DropPath(output.forward(intermediate.forward(layernorm_after.forward(hidden))));
        return result.MoveToOuterDisposeScope();
    }

    private Tensor DropPath(Tensor branch) => StochasticDepth.Apply(branch, _dropPath, training);

    /// <summary>[B, H, W, C] → windows [B·(H/w)·(W/w), w·w, C], batch-major, row-major windows.</summary>
    internal static Tensor Partition(Tensor x, int window)
    {
        var (b, h, w, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3]);
        return x.view(b, h / window, window, w / window, window, c).permute(0, 1, 3, 2, 4, 5).reshape(-1, window * window, c);
    }

    /// <summary>Inverse of <see cref="Partition"/>.</summary>
    internal static Tensor Reverse(Tensor windows, int window, long batch, long height, long width)
    {
        var c = windows.shape[^1];
        return windows.view(batch, height / window, width / window, window, window, c).permute(0, 1, 3, 2, 4, 5).reshape(batch, height, width, c);
    }

    /// <summary>
    /// Additive mask [nW, N, N] of a shifted block: after the roll a window may join pieces from
    /// up to 3×3 regions of the map; tokens of different regions must not attend to each other.
    /// </summary>
    internal static Tensor ShiftMask(long height, long width, int window, int shift, ScalarType dtype, Device device)
    {
        // Computed on the managed side: token pairs of one window from different shift regions get
        // -100. (Building it with masked_fill and a scalar crashed once inside libtorch's scalar
        // conversion during a long training run; plain arrays avoid the native scalar altogether.)
        static long Region(long i, long size, int window, int shift) => i < size - window ? 0 : i < size - shift ? 1 : 2;
        var rows = height / window;
        var cols = width / window;
        var n = window * window;
        var values = new float[rows * cols * n * n];
        var regions = new long[n];
        for (long wy = 0; wy < rows; wy++)
        {
            for (long wx = 0; wx < cols; wx++)
            {
                for (var t = 0; t < n; t++)
                    regions[t] = Region(wy * window + t / window, height, window, shift) * 3 + Region(wx * window + t % window, width, window, shift);
                var offset = (wy * cols + wx) * n * n;
                for (var i = 0; i < n; i++)
                    for (var j = 0; j < n; j++)
                        if (regions[i] != regions[j]) values[offset + i * n + j] = -100f;
            }
        }
        using var scope = NewDisposeScope();
        return tensor(values, new[] { rows * cols, (long)n, n }).to(dtype, device).MoveToOuterDisposeScope();
    }
}
