using Microsoft.ML.Mask2Former.Training.Modeling;
using Microsoft.ML.Mask2Former.Training.Modeling.ResNet;
using Microsoft.ML.Mask2Former.Training.Modeling.Swin;
using Microsoft.ML.Mask2Former.Training.Modeling.VitAdapter;

namespace Microsoft.ML.Mask2Former.Training.Export;

/// <summary>Walks the network and emits its nodes.</summary>
internal sealed partial class OnnxEmitter(Mask2FormerConfig config, Dictionary<string, Tensor> weights, OnnxExportOptions options)
{
    private readonly OnnxGraphBuilder _g = new();
    private const string Backbone = "model.pixel_level_module.encoder";
    private const string PixelDecoder = "model.pixel_level_module.decoder";
    private const string Transformer = "model.transformer_module";

    private Tensor W(string name) =>
        weights.TryGetValue(name, out var t) ? t : throw new InvalidOperationException($"the network has no weight '{name}' (is the configuration consistent with the weights?)");

    private string Linear(string x, string prefix, bool bias = true) => _g.Linear(x, W(prefix + ".weight"), bias ? W(prefix + ".bias") : null, prefix);

    /// <summary><see cref="Linear"/> for 2-D rows, as one Gemm.</summary>
    private string Gemm(string rows, string prefix) => _g.Gemm(rows, W(prefix + ".weight"), W(prefix + ".bias"), prefix);

    private string LayerNorm(string x, string prefix, double eps = 1e-5) => _g.LayerNorm(x, W(prefix + ".weight"), W(prefix + ".bias"), eps, prefix);

    private string GroupNorm(string x, string prefix) => _g.GroupNorm(x, config.PixelDecoderNormGroups, W(prefix + ".weight"), W(prefix + ".bias"), 1e-5, prefix);

    private string Conv(string x, string prefix, long stride = 1, long padding = 0, bool bias = true) =>
        _g.Conv(x, W(prefix + ".weight"), bias ? W(prefix + ".bias") : null, stride, padding, prefix);

    public OnnxGraphBuilder Run()
    {
        object batch = "batch";
        object height = options.FixedHeight is { } fh ? fh : "height";
        object width = options.FixedWidth is { } fw ? fw : "width";
        var pixels = _g.Input("pixel_values", batch, 3, height, width);
        var features = config.Backbone switch
        {
            SwinConfig swin => Swin(pixels, swin),
            ResNetConfig resnet => ResNet(pixels, resnet),
            VitAdapterConfig vit => VitAdapter(pixels, vit),
            _ => throw new NotSupportedException($"backbone {config.Backbone.ModelType} cannot be exported"),
        };
        var (multiScale, maskFeatures) = PixelDecoderForward(features);
        var (classes, masks) = TransformerForward(multiScale, maskFeatures);
        _g.Output("class_queries_logits", classes, batch, config.NumQueries, config.NumLabels + 1);
        object maskH = options.FixedHeight is { } h ? (h + 3) / 4 : "mask_height";
        object maskW = options.FixedWidth is { } w ? (w + 3) / 4 : "mask_width";
        _g.Output("masks_queries_logits", masks, batch, config.NumQueries, maskH, maskW);
        return _g;
    }

    /// <summary>Pads [.., H, W, ..] at the bottom/right to multiples of <paramref name="multiple"/>.</summary>
    private string PadToMultiple(string x, long multiple, int heightAxis, int widthAxis, int rank)
    {
        var m = _g.Ints(multiple);
        string Amount(int axis) => _g.Op("Mod", [_g.Sub(m, _g.Op("Mod", [_g.Dim(x, axis), m])), m]);
        var pads = new string[2 * rank];
        var zero = _g.Ints(0);
        for (var i = 0; i < pads.Length; i++) pads[i] = zero;
        pads[rank + heightAxis] = Amount(heightAxis);
        pads[rank + widthAxis] = Amount(widthAxis);
        return _g.Op("Pad", [x, _g.Concat(0, pads)]);
    }
}
