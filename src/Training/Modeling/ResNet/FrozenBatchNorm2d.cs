namespace Microsoft.ML.Mask2Former.Training.Modeling.ResNet;

/// <summary>
/// Batch norm with fixed statistics and affine parameters (buffers, never trained), as detection
/// backbones use it: y = (x - mean) / sqrt(var + eps) · weight + bias. Holds torchvision's
/// <c>BatchNorm2d</c> entries (<c>weight</c>, <c>bias</c>, <c>running_mean</c>, <c>running_var</c>,
/// <c>num_batches_tracked</c>) so its checkpoints load by name.
/// </summary>
public sealed class FrozenBatchNorm2d : nn.Module<Tensor, Tensor>
{
    private readonly Tensor weight;
    private readonly Tensor bias;
    private readonly Tensor running_mean;
    private readonly Tensor running_var;
    private readonly Tensor num_batches_tracked;
    private readonly double _eps;

    /// <summary>Creates an identity norm over <paramref name="channels"/> channels.</summary>
    public FrozenBatchNorm2d(long channels, double eps = 1e-5) : base(nameof(FrozenBatchNorm2d))
    {
        _eps = eps;
        // Module state must outlive any dispose scope the module is created in.
        weight = ones(channels).DetachFromDisposeScope();
        bias = zeros(channels).DetachFromDisposeScope();
        running_mean = zeros(channels).DetachFromDisposeScope();
        running_var = ones(channels).DetachFromDisposeScope();
        num_batches_tracked = tensor(0L).DetachFromDisposeScope();
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var scale = weight * (running_var + _eps).rsqrt();
        var shift = bias - running_mean * scale;
        return (input * scale.view(1, -1, 1, 1) + shift.view(1, -1, 1, 1)).MoveToOuterDisposeScope();
    }
}
