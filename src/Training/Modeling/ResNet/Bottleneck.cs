namespace Microsoft.ML.Mask2Former.Training.Modeling.ResNet;

/// <summary>
/// torchvision's bottleneck block (ResNet v1.5: the stride sits on the 3×3 convolution):
/// 1×1 → 3×3 → 1×1 (×4 channels), frozen batch norms, projection shortcut when the shape changes.
/// </summary>
public sealed class Bottleneck : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv1;
    private readonly FrozenBatchNorm2d bn1;
    private readonly Conv2d conv2;
    private readonly FrozenBatchNorm2d bn2;
    private readonly Conv2d conv3;
    private readonly FrozenBatchNorm2d bn3;
    private readonly Sequential? downsample;

    /// <summary>Creates a block from <paramref name="inChannels"/> to <paramref name="outChannels"/> (= 4 × width).</summary>
    public Bottleneck(long inChannels, long outChannels, long stride, double eps) : base(nameof(Bottleneck))
    {
        var width = outChannels / 4;
        conv1 = nn.Conv2d(inChannels, width, kernel_size: 1, bias: false);
        bn1 = new FrozenBatchNorm2d(width, eps);
        conv2 = nn.Conv2d(width, width, kernel_size: 3, stride: stride, padding: 1, bias: false);
        bn2 = new FrozenBatchNorm2d(width, eps);
        conv3 = nn.Conv2d(width, outChannels, kernel_size: 1, bias: false);
        bn3 = new FrozenBatchNorm2d(outChannels, eps);
        if (stride != 1 || inChannels != outChannels)
            downsample = nn.Sequential(nn.Conv2d(inChannels, outChannels, kernel_size: 1, stride: stride, bias: false), new FrozenBatchNorm2d(outChannels, eps));
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = nn.functional.relu(bn1.forward(conv1.forward(input)));
        x = nn.functional.relu(bn2.forward(conv2.forward(x)));
        x = bn3.forward(conv3.forward(x));
        var shortcut = downsample is null ? input : downsample.forward(input);
        return nn.functional.relu(x + shortcut).MoveToOuterDisposeScope();
    }
}
