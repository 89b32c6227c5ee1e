using Microsoft.ML.Mask2Former.Training.Modeling.PixelDecoder;
using Microsoft.ML.Mask2Former.Training.Modeling.ResNet;
using Microsoft.ML.Mask2Former.Training.Modeling.TransformerDecoder;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Mask2Former.Training.Modeling;

/// <summary>
/// Initial weights of a new network, following the reference: linear, convolution and embedding
/// weights N(0, 0.02) with zero bias, norms 1 / 0; Xavier-uniform matrices in the pixel decoder and
/// the decoder layers; Deformable DETR's initialisation of the sampling offsets (a ring of
/// directions per head) and zero attention weights; He-normal ResNet convolutions (torchvision).
/// Pretrained checkpoints overwrite all of it.
/// </summary>
internal static class WeightInitialization
{
    public static void Apply(Mask2FormerForUniversalSegmentation network)
    {
        using var noGrad = no_grad();
        var modules = network.modules().ToList();
        foreach (var module in modules)
        {
            switch (module)
            {
                case Linear linear:
                    nn.init.normal_(linear.weight!, 0, 0.02);
                    if (linear.bias is not null) nn.init.zeros_(linear.bias);
                    break;
                case Conv2d conv:
                    nn.init.normal_(conv.weight!, 0, 0.02);
                    if (conv.bias is not null) nn.init.zeros_(conv.bias);
                    break;
                case LayerNorm norm:
                    nn.init.ones_(norm.weight!);
                    nn.init.zeros_(norm.bias!);
                    break;
                case GroupNorm norm:
                    nn.init.ones_(norm.weight!);
                    nn.init.zeros_(norm.bias!);
                    break;
                case Embedding embedding:
                    nn.init.normal_(embedding.weight!, 0, 0.02);
                    break;
            }
        }
        foreach (var module in modules)
        {
            if (module is Mask2FormerPixelDecoder or MaskedAttentionDecoderLayer)
            {
                foreach (var p in module.parameters())
                    if (p.dim() > 1) nn.init.xavier_uniform_(p);
            }
        }
        foreach (var module in modules)
        {
            switch (module)
            {
                case Mask2FormerPixelDecoder decoder:
                    decoder.ResetLevelEmbedding();
                    break;
                case MultiscaleDeformableAttention attention:
                    attention.ResetParameters();
                    break;
                case ResNetBackbone resnet:
                    resnet.ResetParameters();
                    break;
            }
        }
    }
}
