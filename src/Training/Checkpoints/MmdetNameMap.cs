using System.Text.RegularExpressions;
using Microsoft.ML.Mask2Former.Training.Modeling;
using Microsoft.ML.Mask2Former.Training.Modeling.Swin;
using Microsoft.ML.Mask2Former.Training.Modeling.VitAdapter;

namespace Microsoft.ML.Mask2Former.Training.Checkpoints;

/// <summary>
/// The one name map from an mmdetection 2.25 Mask2Former state dict to ours (Hugging Face names).
/// mmdetection's head computes what ours computes — the same pixel decoder (input projections
/// lowest resolution first, sine position + level embedding, post-norm deformable encoder, one FPN
/// level, 1×1 mask projection), the same masked-attention decoder (cross-attention, self-attention,
/// FFN, each post-normed; levels round-robin lowest resolution first; attention mask where the
/// resized mask's sigmoid &lt; 0.5, fully masked rows unmasked), the same 3-layer mask MLP — so the
/// map renames, except for two cases:
/// <list type="table">
/// <listheader><term>mmdetection</term><description>ours</description></listheader>
/// <item><term><c>backbone.*</c></term><description><c>model.pixel_level_module.encoder.*</c> (our ViT-Adapter keeps upstream's names)</description></item>
/// <item><term><c>backbone.blocks.{j}.attn.relative_position_index</c></term><description>not loaded: recomputed from the window size (BEiT's formula); when present it must equal that</description></item>
/// <item><term><c>panoptic_head.pixel_decoder.input_convs.{i}.conv</c> / <c>.gn</c></term><description><c>model.pixel_level_module.decoder.input_projections.{i}.0</c> / <c>.1</c></description></item>
/// <item><term><c>…pixel_decoder.level_encoding.weight</c></term><description><c>…decoder.level_embed</c></description></item>
/// <item><term><c>…pixel_decoder.encoder.layers.{i}.attentions.0.*</c></term><description><c>…decoder.encoder.layers.{i}.self_attn.*</c> (same four linears)</description></item>
/// <item><term><c>…encoder.layers.{i}.norms.0</c> / <c>norms.1</c></term><description><c>self_attn_layer_norm</c> / <c>final_layer_norm</c></description></item>
/// <item><term><c>…layers.{i}.ffns.0.layers.0.0</c> / <c>ffns.0.layers.1</c></term><description><c>fc1</c> / <c>fc2</c></description></item>
/// <item><term><c>…pixel_decoder.lateral_convs.0.conv</c> / <c>.gn</c></term><description><c>…decoder.adapter_1.0</c> / <c>.1</c></description></item>
/// <item><term><c>…pixel_decoder.output_convs.0.conv</c> / <c>.gn</c></term><description><c>…decoder.layer_1.0</c> / <c>.1</c></description></item>
/// <item><term><c>…pixel_decoder.mask_feature</c></term><description><c>…decoder.mask_projection</c></description></item>
/// <item><term><c>panoptic_head.transformer_decoder.layers.{i}.attentions.0.attn.*</c></term><description><c>model.transformer_module.decoder.layers.{i}.cross_attn.*</c> (<c>in_proj_weight</c>, <c>in_proj_bias</c>, <c>out_proj</c>)</description></item>
/// <item><term><c>…layers.{i}.attentions.1.attn.in_proj_weight</c> / <c>in_proj_bias</c></term><description>split in three rows blocks: <c>self_attn.q_proj</c>, <c>k_proj</c>, <c>v_proj</c> (weight / bias)</description></item>
/// <item><term><c>…layers.{i}.attentions.1.attn.out_proj</c></term><description><c>self_attn.out_proj</c></description></item>
/// <item><term><c>…layers.{i}.norms.0</c> / <c>1</c> / <c>2</c></term><description><c>cross_attn_layer_norm</c> / <c>self_attn_layer_norm</c> / <c>final_layer_norm</c></description></item>
/// <item><term><c>…transformer_decoder.post_norm</c></term><description><c>…decoder.layernorm</c></description></item>
/// <item><term><c>panoptic_head.query_embed</c> / <c>query_feat</c> / <c>level_embed</c></term><description><c>model.transformer_module.queries_embedder</c> / <c>queries_features</c> / <c>level_embed</c></description></item>
/// <item><term><c>panoptic_head.decoder_input_projs.{i}</c></term><description><c>model.transformer_module.input_projections.{i}</c></description></item>
/// <item><term><c>panoptic_head.mask_embed.{0,2,4}</c></term><description><c>…decoder.mask_predictor.mask_embedder.{0,1,2}.0</c></description></item>
/// <item><term><c>panoptic_head.cls_embed</c></term><description><c>class_predictor</c></description></item>
/// <item><term>(none)</term><description><c>criterion.empty_weight</c>: from <c>loss_cls.class_weight</c> (the configuration's no-object weight)</description></item>
/// </list>
/// Names that match no rule pass through unchanged and are reported as unexpected by a strict load.
/// </summary>
internal static class MmdetNameMap
{
    private const string Pixel = "model.pixel_level_module.decoder.";
    private const string Decoder = "model.transformer_module.decoder.";

    private static readonly (Regex Pattern, string Replacement)[] Renames =
    {
        (new(@"^backbone\.(.+)$"), "model.pixel_level_module.encoder.$1"),
        (new(@"^panoptic_head\.pixel_decoder\.input_convs\.(\d+)\.conv\.(weight|bias)$"), Pixel + "input_projections.$1.0.$2"),
        (new(@"^panoptic_head\.pixel_decoder\.input_convs\.(\d+)\.gn\.(weight|bias)$"), Pixel + "input_projections.$1.1.$2"),
        (new(@"^panoptic_head\.pixel_decoder\.level_encoding\.weight$"), Pixel + "level_embed"),
        (new(@"^panoptic_head\.pixel_decoder\.encoder\.layers\.(\d+)\.attentions\.0\.(.+)$"), Pixel + "encoder.layers.$1.self_attn.$2"),
        (new(@"^panoptic_head\.pixel_decoder\.encoder\.layers\.(\d+)\.norms\.0\.(.+)$"), Pixel + "encoder.layers.$1.self_attn_layer_norm.$2"),
        (new(@"^panoptic_head\.pixel_decoder\.encoder\.layers\.(\d+)\.norms\.1\.(.+)$"), Pixel + "encoder.layers.$1.final_layer_norm.$2"),
        (new(@"^panoptic_head\.pixel_decoder\.encoder\.layers\.(\d+)\.ffns\.0\.layers\.0\.0\.(.+)$"), Pixel + "encoder.layers.$1.fc1.$2"),
        (new(@"^panoptic_head\.pixel_decoder\.encoder\.layers\.(\d+)\.ffns\.0\.layers\.1\.(.+)$"), Pixel + "encoder.layers.$1.fc2.$2"),
        (new(@"^panoptic_head\.pixel_decoder\.lateral_convs\.0\.conv\.(.+)$"), Pixel + "adapter_1.0.$1"),
        (new(@"^panoptic_head\.pixel_decoder\.lateral_convs\.0\.gn\.(.+)$"), Pixel + "adapter_1.1.$1"),
        (new(@"^panoptic_head\.pixel_decoder\.output_convs\.0\.conv\.(.+)$"), Pixel + "layer_1.0.$1"),
        (new(@"^panoptic_head\.pixel_decoder\.output_convs\.0\.gn\.(.+)$"), Pixel + "layer_1.1.$1"),
        (new(@"^panoptic_head\.pixel_decoder\.mask_feature\.(.+)$"), Pixel + "mask_projection.$1"),
        (new(@"^panoptic_head\.transformer_decoder\.layers\.(\d+)\.attentions\.0\.attn\.(.+)$"), Decoder + "layers.$1.cross_attn.$2"),
        (new(@"^panoptic_head\.transformer_decoder\.layers\.(\d+)\.attentions\.1\.attn\.out_proj\.(.+)$"), Decoder + "layers.$1.self_attn.out_proj.$2"),
        (new(@"^panoptic_head\.transformer_decoder\.layers\.(\d+)\.norms\.0\.(.+)$"), Decoder + "layers.$1.cross_attn_layer_norm.$2"),
        (new(@"^panoptic_head\.transformer_decoder\.layers\.(\d+)\.norms\.1\.(.+)$"), Decoder + "layers.$1.self_attn_layer_norm.$2"),
        (new(@"^panoptic_head\.transformer_decoder\.layers\.(\d+)\.norms\.2\.(.+)$"), Decoder + "layers.$1.final_layer_norm.$2"),
        (new(@"^panoptic_head\.transformer_decoder\.layers\.(\d+)\.ffns\.0\.layers\.0\.0\.(.+)$"), Decoder + "layers.$1.fc1.$2"),
        (new(@"^panoptic_head\.transformer_decoder\.layers\.(\d+)\.ffns\.0\.layers\.1\.(.+)$"), Decoder + "layers.$1.fc2.$2"),
        (new(@"^panoptic_head\.transformer_decoder\.post_norm\.(.+)$"), Decoder + "layernorm.$1"),
        (new(@"^panoptic_head\.query_embed\.weight$"), "model.transformer_module.queries_embedder.weight"),
        (new(@"^panoptic_head\.query_feat\.weight$"), "model.transformer_module.queries_features.weight"),
        (new(@"^panoptic_head\.level_embed\.weight$"), "model.transformer_module.level_embed.weight"),
        (new(@"^panoptic_head\.decoder_input_projs\.(\d+)\.(.+)$"), "model.transformer_module.input_projections.$1.$2"),
        (new(@"^panoptic_head\.mask_embed\.0\.(.+)$"), Decoder + "mask_predictor.mask_embedder.0.0.$1"),
        (new(@"^panoptic_head\.mask_embed\.2\.(.+)$"), Decoder + "mask_predictor.mask_embedder.1.0.$1"),
        (new(@"^panoptic_head\.mask_embed\.4\.(.+)$"), Decoder + "mask_predictor.mask_embedder.2.0.$1"),
        (new(@"^panoptic_head\.cls_embed\.(.+)$"), "class_predictor.$1"),
    };

    private static readonly Regex SelfAttentionInProjection = new(@"^panoptic_head\.transformer_decoder\.layers\.(\d+)\.attentions\.1\.attn\.in_proj_(weight|bias)$");
    private static readonly Regex RelativePositionIndex = new(@"^backbone\.blocks\.(\d+)\.attn\.relative_position_index$");

    /// <summary>
    /// The tensors of an mmdetection state dict under our names, ready for a strict
    /// <see cref="ModuleCheckpoint"/> load into <paramref name="network"/>.
    /// </summary>
    /// <exception cref="DataFormatException">A stored <c>relative_position_index</c> disagrees with BEiT's formula for its block's window.</exception>
    public static IReadOnlyList<CheckpointTensor> Map(PthFile file, IReadOnlyList<KeyValuePair<string, PthTensorInfo>> state, Mask2FormerForUniversalSegmentation network)
    {
        var mapped = new List<CheckpointTensor>();
        foreach (var (name, info) in state)
        {
            if (RelativePositionIndex.Match(name) is { Success: true } index && network.Config.Backbone is VitAdapterConfig vit
                && int.Parse(index.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) is var block && block < vit.Depth)
            {
                CheckRelativePositionIndex(file, name, info, vit.WindowSize[block]);
                continue;
            }
            if (SelfAttentionInProjection.Match(name) is { Success: true } inProjection)
            {
                var target = Decoder + $"layers.{inProjection.Groups[1].Value}.self_attn.";
                var kind = inProjection.Groups[2].Value;
                var rows = info.Shape.Count > 0 && info.Shape[0] % 3 == 0 ? info.Shape[0] / 3 : -1;
                var parts = new[] { "q_proj", "k_proj", "v_proj" };
                for (var part = 0; part < 3; part++)
                {
                    var shape = rows < 0 ? info.Shape : info.Shape.Skip(1).Prepend(rows).ToArray();
                    var first = part * rows;
                    mapped.Add(new CheckpointTensor(target + parts[part] + "." + kind, $"{name}[{parts[part][0]}]", shape, info.ElementType,
                        () => Slice(file.ReadTensor(info, name), first, rows)));
                }
                continue;
            }
            var ours = Renames.Select(r => r.Pattern.Match(name).Success ? r.Pattern.Replace(name, r.Replacement) : null).FirstOrDefault(n => n is not null) ?? name;
            mapped.Add(new CheckpointTensor(ours, name, info.Shape, info.ElementType, () => file.ReadTensor(info, name)));
        }
        var weights = network.Criterion.Weights;
        mapped.Add(new CheckpointTensor("criterion.empty_weight", "criterion.empty_weight (from loss_cls.class_weight)", weights.shape, SafeTensorsTorchTypes.ToElementType(weights.dtype), () => weights.clone()));
        return mapped;
    }

    private static Tensor Slice(Tensor full, long first, long rows)
    {
        using (full) return full.narrow(0, first, rows).contiguous();
    }

    private static void CheckRelativePositionIndex(PthFile file, string name, PthTensorInfo info, int window)
    {
        using var scope = NewDisposeScope();
        var expected = SwinSelfAttention.RelativePositionIndex(window);
        if (!info.Shape.SequenceEqual(expected.shape))
            throw new DataFormatException($"'{name}' has shape [{string.Join(", ", info.Shape)}] but the block's window {window} gives [{string.Join(", ", expected.shape)}]", file.FilePath);
        var stored = file.ReadTensor(info, name);
        if (!stored.to_type(ScalarType.Int64).eq(expected).all().item<bool>())
            throw new DataFormatException($"'{name}' differs from BEiT's relative position index for window {window}", file.FilePath);
    }
}
