using Microsoft.ML.Mask2Former.Training.Modeling.TransformerDecoder;

namespace Microsoft.ML.Mask2Former.Training.Modeling;

/// <summary>Pixel-level module and transformer module (Hugging Face <c>Mask2FormerModel</c>, prefix <c>model.</c>).</summary>
public sealed class Mask2FormerModel : nn.Module
{
    private readonly PixelLevelModule pixel_level_module;
    private readonly TransformerModule transformer_module;

    /// <summary>Creates the model of <paramref name="config"/>.</summary>
    public Mask2FormerModel(Mask2FormerConfig config) : base(nameof(Mask2FormerModel))
    {
        pixel_level_module = new PixelLevelModule(config);
        transformer_module = new TransformerModule(config);
        RegisterComponents();
    }

    /// <summary>The backbone and pixel decoder.</summary>
    public PixelLevelModule PixelLevel => pixel_level_module;

    /// <summary>Pixels → backbone maps, pixel decoder output and decoder output.</summary>
    public (Tensor[] BackboneFeatures, PixelDecoder.PixelDecoderOutput Pixel, DecoderOutput Decoder) forward(Tensor pixelValues, bool keepEncoderLayers = false)
    {
        using var scope = NewDisposeScope();
        var (features, pixel) = pixel_level_module.forward(pixelValues, keepEncoderLayers);
        var decoded = transformer_module.forward(pixel.MultiScaleFeatures, pixel.MaskFeatures);
        return (features.Select(f => f.MoveToOuterDisposeScope()).ToArray(), pixel.MoveToOuterDisposeScope(), decoded.MoveToOuterDisposeScope());
    }
}
