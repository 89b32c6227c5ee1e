using Microsoft.ML.Mask2Former.Training.Modeling.Swin;

namespace Microsoft.ML.Mask2Former.Training.Modeling.VitAdapter;

/// <summary>
/// The attention of a BEiT detection block. Windowed (as every block of the released model): the
/// token map is zero-padded at the bottom and right to a multiple of the window — after the
/// block's first norm, so padding tokens are zero vectors, and with no padding mask, so they
/// take part in attention as keys with value <c>v_bias</c> exactly as upstream — then each
/// window attends within itself with the block's own relative position bias, and the padding
/// is cropped. The query/key/value projection has biases for q and v only
/// (<c>cat(q_bias, 0, v_bias)</c>). A block that is not windowed attends over the whole map,
/// which upstream allows only when the map has exactly window² tokens (the bias table is
/// window-sized).
/// </summary>
public sealed class BeitAttention : nn.Module
{
    private readonly Linear qkv;
    private readonly Parameter? q_bias;
    private readonly Parameter? v_bias;
    private readonly Parameter relative_position_bias_table;
    private readonly Tensor relative_position_index;
    private readonly Linear proj;
    private readonly int _heads;
    private readonly int _window;
    private readonly bool _windowed;

    /// <summary>Creates the attention of a block with window side <paramref name="window"/>.</summary>
    public BeitAttention(VitAdapterConfig config, int window, bool windowed) : base(nameof(BeitAttention))
    {
        var dim = config.EmbedDim;
        _heads = config.NumHeads;
        _window = window;
        _windowed = windowed;
        qkv = nn.Linear(dim, 3 * dim, hasBias: false);
        if (config.QkvBias)
        {
            q_bias = new Parameter(zeros(dim));
            v_bias = new Parameter(zeros(dim));
            q_bias.DetachFromDisposeScope();
            v_bias.DetachFromDisposeScope();
        }
        var side = 2 * window - 1;
        relative_position_bias_table = new Parameter(zeros(side * side, _heads));
        relative_position_bias_table.DetachFromDisposeScope();
        // Derived from the window size alone (BEiT's formula), so it is not part of the state dict:
        // checkpoints that carry it are checked against it, those that lack it need nothing.
        relative_position_index = SwinSelfAttention.RelativePositionIndex(window).DetachFromDisposeScope();
        register_buffer(nameof(relative_position_index), relative_position_index, persistent: false);
        proj = nn.Linear(dim, dim);
        RegisterComponents();
    }

    /// <summary>The window side.</summary>
    public int WindowSize => _window;

    /// <summary>The pair → bias-table row index [w², w²] (BEiT's formula; a module buffer, do not dispose).</summary>
    internal Tensor RelativePositionIndex => relative_position_index;

    /// <summary>Tokens [B, H·W, C] of an H×W map (already normalised) → [B, H·W, C].</summary>
    public Tensor forward(Tensor x, long height, long width)
    {
        using var scope = NewDisposeScope();
        var (batch, count, channels) = (x.shape[0], x.shape[1], x.shape[2]);
        if (!_windowed)
        {
            if (count != (long)_window * _window)
                throw new ArgumentException($"A BEiT block without window attention needs exactly {_window}×{_window} tokens (its bias table is window-sized), got {height}×{width}.");
            return Attend(x).MoveToOuterDisposeScope();
        }
        var map = x.view(batch, height, width, channels);
        var padBottom = (_window - height % _window) % _window;
        var padRight = (_window - width % _window) % _window;
        if (padBottom > 0 || padRight > 0) map = nn.functional.pad(map, new long[] { 0, 0, 0, padRight, 0, padBottom });
        var windows = SwinLayer.Partition(map, _window);
        map = SwinLayer.Reverse(Attend(windows), _window, batch, height + padBottom, width + padRight);
        if (padBottom > 0 || padRight > 0) map = map[.., ..(int)height, ..(int)width, ..];
        return map.reshape(batch, count, channels).MoveToOuterDisposeScope();
    }

    /// <summary>Multi-head attention with the relative position bias over sequences [B', w², C].</summary>
    private Tensor Attend(Tensor x)
    {
        var (batch, n, dim) = (x.shape[0], x.shape[1], x.shape[2]);
        var headDim = dim / _heads;
        var bias = q_bias is null ? null : cat(new[] { q_bias, zeros_like(v_bias!), v_bias! });
        var projected = nn.functional.linear(x, qkv.weight!, bias).view(batch, n, 3, _heads, headDim).permute(2, 0, 3, 1, 4);
        var (q, k, v) = (projected[0], projected[1], projected[2]);
        // Gathered straight into [heads, n, n] so the mask is contiguous (a permuted one sends
        // scaled_dot_product_attention down a path several times slower at window 56).
        var positionBias = relative_position_bias_table.t().index_select(1, relative_position_index.view(-1)).view(_heads, n, n);
        var attended = nn.functional.scaled_dot_product_attention(q, k, v, positionBias.unsqueeze(0));
        return proj.forward(attended.transpose(1, 2).reshape(batch, n, dim));
    }
}
