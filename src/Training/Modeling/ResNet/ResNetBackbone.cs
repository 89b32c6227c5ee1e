using Microsoft.ML.Mask2Former.Training.Checkpoints;

namespace Microsoft.ML.Mask2Former.Training.Modeling.ResNet;

/// <summary>
/// ResNet-50/101 as a Mask2Former backbone, with torchvision's parameter names (<c>conv1</c>,
/// <c>bn1</c>, <c>layer1</c>…<c>layer4</c>): stem (7×7/2 convolution, frozen batch norm, ReLU,
/// 3×3/2 max pool), then four stages of bottlenecks giving maps at strides 4, 8, 16, 32.
/// </summary>
public sealed class ResNetBackbone : Backbone
{
    private readonly Conv2d conv1;
    private readonly FrozenBatchNorm2d bn1;
    private readonly Sequential layer1;
    private readonly Sequential layer2;
    private readonly Sequential layer3;
    private readonly Sequential layer4;
    private readonly ResNetConfig _config;

    /// <summary>Creates the backbone of <paramref name="config"/> (identity norms, random convolutions).</summary>
    public ResNetBackbone(ResNetConfig config) : base(nameof(ResNetBackbone))
    {
        _config = config;
        conv1 = nn.Conv2d(config.NumChannels, config.EmbeddingSize, kernel_size: 7, stride: 2, padding: 3, bias: false);
        bn1 = new FrozenBatchNorm2d(config.EmbeddingSize, config.BatchNormEps);
        Sequential Stage(int index, long inChannels, long stride) => nn.Sequential(Enumerable.Range(0, config.Depths[index])
            .Select(i => (nn.Module<Tensor, Tensor>)new Bottleneck(i == 0 ? inChannels : config.HiddenSizes[index], config.HiddenSizes[index], i == 0 ? stride : 1, config.BatchNormEps))
            .ToArray());
        layer1 = Stage(0, config.EmbeddingSize, 1);
        layer2 = Stage(1, config.HiddenSizes[0], 2);
        layer3 = Stage(2, config.HiddenSizes[1], 2);
        layer4 = Stage(3, config.HiddenSizes[2], 2);
        RegisterComponents();
    }

    /// <summary>torchvision's initialisation: He-normal (fan-out, ReLU) convolutions; the frozen norms stay identities.</summary>
    internal void ResetParameters()
    {
        using var noGrad = no_grad();
        foreach (var module in modules())
            if (module is Conv2d conv) nn.init.kaiming_normal_(conv.weight!, 0, nn.init.FanInOut.FanOut, nn.init.NonlinearityType.ReLU);
    }

    /// <inheritdoc/>
    public override IReadOnlyList<int> OutChannels => _config.OutChannels;

    /// <inheritdoc/>
    public override Tensor[] forward(Tensor pixelValues)
    {
        using var scope = NewDisposeScope();
        var x = nn.functional.relu(bn1.forward(conv1.forward(pixelValues)));
        x = nn.functional.max_pool2d(x, kernel_size: 3, stride: 2, padding: 1);
        var c2 = layer1.forward(x);
        var c3 = layer2.forward(c2);
        var c4 = layer3.forward(c3);
        var c5 = layer4.forward(c4);
        return new[] { c2, c3, c4, c5 }.Select(t => t.MoveToOuterDisposeScope()).ToArray();
    }

    /// <summary>
    /// Loads an ImageNet ResNet checkpoint with torchvision names converted to safetensors. The
    /// classifier (<c>fc.weight</c>, <c>fc.bias</c>), which a backbone has no use for, is ignored;
    /// every other name and shape must match.
    /// </summary>
    /// <exception cref="CheckpointMismatchException">Names or shapes differ.</exception>
    public LoadReport LoadTorchvision(string path) =>
        ModuleCheckpoint.Load(this, path, strict: true, ignore: name => name is "fc.weight" or "fc.bias");
}
