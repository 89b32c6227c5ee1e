using Microsoft.ML.Mask2Former.Training.Modeling.PixelDecoder;
using Microsoft.ML.Mask2Former.Training.Modeling.ResNet;
using Microsoft.ML.Mask2Former.Training.Modeling.TransformerDecoder;

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
        // The reference zeroes the patch-embedding bias too, which only pretrained backbones get away
        // with: trained from scratch, every zero-padded pixel then embeds to the zero vector, each
        // LayerNorm over such constant tokens multiplies their gradient by 1/sqrt(eps) (316), and after
        // a few Swin blocks the gradient overflows float (1e9 for the small config, infinite for Swin-T,
        // which zeroes every clipped update and then gives NaN). PyTorch's default Conv2d bias,
        // U(-1/sqrt(fan_in), 1/sqrt(fan_in)), gives padded tokens a spread across channels instead.
        foreach (var embeddings in modules.OfType<Swin.SwinPatchEmbeddings>())
        {
            foreach (var conv in embeddings.modules().OfType<Conv2d>())
            {
                if (conv.bias is null) continue;
                var w = conv.weight!;
                var bound = 1.0 / Math.Sqrt(w.shape[1] * w.shape[2] * w.shape[3]);
                nn.init.uniform_(conv.bias, -bound, bound);
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
