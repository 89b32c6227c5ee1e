using Microsoft.ML.Mask2Former.Training.Modeling.PixelDecoder;
using Microsoft.ML.Mask2Former.Training.Modeling.ResNet;
using Microsoft.ML.Mask2Former.Training.Modeling.Swin;
using Microsoft.ML.Mask2Former.Training.Modeling.VitAdapter;

namespace Microsoft.ML.Mask2Former.Training.Modeling;

/// <summary>Backbone (<c>encoder</c>) and pixel decoder (<c>decoder</c>).</summary>
public sealed class PixelLevelModule : nn.Module
{
    private readonly Backbone encoder;
    private readonly Mask2FormerPixelDecoder decoder;

    /// <summary>Creates the module of <paramref name="config"/>.</summary>
    public PixelLevelModule(Mask2FormerConfig config) : base(nameof(PixelLevelModule))
    {
        encoder = config.Backbone switch
        {
            SwinConfig swin => new SwinBackbone(swin),
            ResNetConfig resnet => new ResNetBackbone(resnet),
            VitAdapterConfig vit => new VitAdapter.VitAdapterBackbone(vit),
            _ => throw new NotSupportedException($"Backbone {config.Backbone.ModelType} is not supported."),
        };
        decoder = new Mask2FormerPixelDecoder(config, encoder.OutChannels);
        RegisterComponents();
    }

    /// <summary>The backbone.</summary>
    public Backbone Encoder => encoder;

    /// <summary>Pixels → backbone feature maps and pixel decoder output.</summary>
    public (Tensor[] BackboneFeatures, PixelDecoderOutput Decoded) forward(Tensor pixelValues, bool keepEncoderLayers = false)
    {
        using var scope = NewDisposeScope();
        var features = encoder.forward(pixelValues);
        var decoded = decoder.forward(features, keepEncoderLayers);
        return (features.Select(f => f.MoveToOuterDisposeScope()).ToArray(), decoded.MoveToOuterDisposeScope());
    }
}
