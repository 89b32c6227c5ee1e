using Microsoft.ML.Mask2Former.Training.Modeling.ResNet;
using static Microsoft.ML.Mask2Former.Training.Export.OnnxGraphBuilder;

namespace Microsoft.ML.Mask2Former.Training.Export;

// The ResNet backbone as ONNX nodes (Mask2FormerOnnxExporter).
internal sealed partial class OnnxEmitter
{
    private string[] ResNet(string pixels, ResNetConfig resnet)
    {
        var x = _g.Relu(FrozenBatchNorm(Conv(pixels, $"{Backbone}.conv1", stride: 2, padding: 3, bias: false), $"{Backbone}.bn1", resnet.BatchNormEps));
        x = _g.Op("MaxPool", [x], Attr("kernel_shape", new long[] { 3, 3 }), Attr("strides", new long[] { 2, 2 }), Attr("pads", new long[] { 1, 1, 1, 1 }));
        var maps = new string[4];
        for (var stage = 0; stage < 4; stage++)
        {
            for (var block = 0; block < resnet.Depths[stage]; block++)
            {
                var prefix = $"{Backbone}.layer{stage + 1}.{block}";
                var stride = block == 0 && stage > 0 ? 2 : 1;
                var y = _g.Relu(FrozenBatchNorm(Conv(x, prefix + ".conv1", bias: false), prefix + ".bn1", resnet.BatchNormEps));
                y = _g.Relu(FrozenBatchNorm(Conv(y, prefix + ".conv2", stride: stride, padding: 1, bias: false), prefix + ".bn2", resnet.BatchNormEps));
                y = FrozenBatchNorm(Conv(y, prefix + ".conv3", bias: false), prefix + ".bn3", resnet.BatchNormEps);
                var shortcut = weights.ContainsKey(prefix + ".downsample.0.weight")
                    ? FrozenBatchNorm(Conv(x, prefix + ".downsample.0", stride: stride, bias: false), prefix + ".downsample.1", resnet.BatchNormEps)
                    : x;
                x = _g.Relu(_g.Add(y, shortcut));
            }
            maps[stage] = x;
        }
        return maps;
    }

    /// <summary>Frozen batch norm as the module computes it: x · scale + shift with scale = w / √(var + eps).</summary>
    private string FrozenBatchNorm(string x, string prefix, double eps)
    {
        using var scope = NewDisposeScope();
        var scale = W(prefix + ".weight") * (W(prefix + ".running_var") + eps).rsqrt();
        var shift = W(prefix + ".bias") - W(prefix + ".running_mean") * scale;
        var c = scale.shape[0];
        return _g.Add(_g.Mul(x, _g.Initializer(prefix + ".scale", scale.view(c, 1, 1))), _g.Initializer(prefix + ".shift", shift.view(c, 1, 1)));
    }
}
