using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

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

    // Stochastic depth: in training, drops the whole residual branch of a sample with probability p.
    private Tensor DropPath(Tensor branch)
    {
        if (!training || _dropPath <= 0) return branch;
        var keep = 1 - _dropPath;
        var shape = new long[branch.dim()];
        Array.Fill(shape, 1L);
        shape[0] = branch.shape[0];
        var mask = rand(shape, branch.dtype, branch.device).add_(keep).floor_();
        return branch.div(keep) * mask;
    }

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
        using var scope = NewDisposeScope();
        static long Region(long i, long size, int window, int shift) => i < size - window ? 0 : i < size - shift ? 1 : 2;
        var regions = new float[height * width];
        for (long y = 0; y < height; y++)
        for (long x = 0; x < width; x++)
            regions[y * width + x] = Region(y, height, window, shift) * 3 + Region(x, width, window, shift);
        var map = tensor(regions, new long[] { 1, height, width, 1 });
        var windows = Partition(map, window).squeeze(-1);
        var difference = windows.unsqueeze(1) - windows.unsqueeze(2);
        var mask = zeros_like(difference).masked_fill(difference.ne(0), -100.0).to(dtype, device);
        return mask.MoveToOuterDisposeScope();
    }
}
