using Microsoft.ML.Mask2Former.Training.Modeling;
using TorchSharp;
using TorchSharp.Modules;

namespace Microsoft.ML.Mask2Former.Training.Optimization;

/// <summary>
/// Splits the network's trainable parameters into AdamW groups as Mask2Former's
/// <c>build_optimizer</c> does: backbone parameters at the base rate × the backbone multiplier;
/// no weight decay on normalisation layers' parameters (<c>WEIGHT_DECAY_NORM</c> 0), on
/// <c>nn.Embedding</c> tables (<c>WEIGHT_DECAY_EMBED</c> 0: query features and positions, the
/// decoder's level embedding) and on Swin's relative-position tables (the Swin backbone's
/// no-decay list). The pixel decoder's <c>level_embed</c> is a plain parameter and decays, as there.
/// </summary>
internal static class ParameterGroups
{
    internal const string BackbonePrefix = "model.pixel_level_module.encoder.";

    /// <summary>One group's members and settings, in a fixed order (the optimizer state relies on it).</summary>
    internal sealed record Group(string Name, IReadOnlyList<(string Name, Parameter Parameter)> Parameters, double LearningRate, double WeightDecay);

    public static IReadOnlyList<Group> Build(Mask2FormerForUniversalSegmentation network, double learningRate, double weightDecay, double backboneMultiplier)
    {
        var noDecay = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (moduleName, module) in network.named_modules())
        {
            if (module is LayerNorm or GroupNorm or BatchNorm1d or BatchNorm2d or Embedding)
            {
                foreach (var (p, _) in module.named_parameters(recurse: false))
                    noDecay.Add(moduleName.Length == 0 ? p : moduleName + "." + p);
            }
        }
        var buckets = new Dictionary<(bool Backbone, bool Decay), List<(string, Parameter)>>();
        foreach (var (name, parameter) in network.named_parameters())
        {
            if (!parameter.requires_grad) continue;
            var decay = !noDecay.Contains(name) && !IsEmbeddingName(name);
            var key = (name.StartsWith(BackbonePrefix, StringComparison.Ordinal), decay);
            if (!buckets.TryGetValue(key, out var list)) buckets[key] = list = [];
            list.Add((name, parameter));
        }
        var groups = new List<Group>();
        foreach (var backbone in new[] { true, false })
        {
            foreach (var decay in new[] { true, false })
            {
                if (!buckets.TryGetValue((backbone, decay), out var list)) continue;
                groups.Add(new Group($"{(backbone ? "backbone" : "head")}{(decay ? "" : "-no-decay")}", list,
                    learningRate * (backbone ? backboneMultiplier : 1.0), decay ? weightDecay : 0.0));
            }
        }
        return groups;
    }

    /// <summary>Embedding tables stored as plain parameters rather than Embedding modules.</summary>
    private static bool IsEmbeddingName(string name) =>
        name.Contains("relative_position_bias_table", StringComparison.Ordinal) ||
        name.Contains("absolute_pos_embed", StringComparison.Ordinal);

    /// <summary>
    /// Groups for layer-wise learning-rate decay, as ViT-Adapter's (BEiT's) <c>LayerDecayOptimizerConstructor</c>
    /// assigns them. With <c>L</c> = <paramref name="numLayers"/> + 2 layer ids: the patch embedding (and
    /// <c>cls_token</c>, <c>mask_token</c>, <c>pos_embed</c>, <c>visual_embed</c>) is layer 0, ViT block j is
    /// layer j + 1, and everything else (the adapter, the level embedding, the whole head) is layer L − 1.
    /// A parameter of layer i learns at <paramref name="learningRate"/> × <paramref name="decayRate"/>^(L − 1 − i).
    /// One-dimensional parameters and biases get no weight decay, every other parameter gets
    /// <paramref name="weightDecay"/> (relative-position tables and embeddings included, as there).
    /// The backbone multiplier does not apply: that constructor ignores the other paramwise settings.
    /// </summary>
    public static IReadOnlyList<Group> BuildLayerDecay(Mask2FormerForUniversalSegmentation network, double learningRate, double weightDecay, double decayRate, int numLayers)
    {
        var layerCount = numLayers + 2;
        var buckets = new SortedDictionary<(int Layer, bool NoDecay), List<(string, Parameter)>>();
        foreach (var (name, parameter) in network.named_parameters())
        {
            if (!parameter.requires_grad) continue;
            var noDecay = parameter.dim() == 1 || name.EndsWith(".bias", StringComparison.Ordinal);
            var key = (LayerId(name, layerCount), noDecay);
            if (!buckets.TryGetValue(key, out var list)) buckets[key] = list = [];
            list.Add((name, parameter));
        }
        return buckets.Select(b => new Group($"layer-{b.Key.Layer}{(b.Key.NoDecay ? "-no-decay" : "")}", b.Value,
            learningRate * Math.Pow(decayRate, layerCount - 1 - b.Key.Layer), b.Key.NoDecay ? 0.0 : weightDecay)).ToList();
    }

    /// <summary>The layer id of a parameter (our names; the backbone prefix stands for mmdet's <c>backbone.</c>) among <paramref name="layerCount"/> ids.</summary>
    internal static int LayerId(string name, int layerCount)
    {
        if (!name.StartsWith(BackbonePrefix, StringComparison.Ordinal)) return layerCount - 1;
        var local = name[BackbonePrefix.Length..];
        if (local is "cls_token" or "mask_token" or "pos_embed" || local.StartsWith("visual_embed", StringComparison.Ordinal) ||
            local.StartsWith("patch_embed", StringComparison.Ordinal))
            return 0;
        var parts = local.Split('.');
        if (parts.Length > 1 && parts[0] is "blocks" or "layers" && int.TryParse(parts[1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var block))
            return block + 1;
        return layerCount - 1;
    }

    public static AdamW CreateAdamW(IReadOnlyList<Group> groups, double beta1, double beta2, double epsilon)
    {
        var paramGroups = groups.Select(g => new AdamW.ParamGroup(g.Parameters.Select(p => p.Parameter),
            new AdamW.Options { LearningRate = g.LearningRate, InitialLearningRate = g.LearningRate, beta1 = beta1, beta2 = beta2, eps = epsilon, weight_decay = g.WeightDecay }));
        return torch.optim.AdamW(paramGroups, groups[0].LearningRate, beta1, beta2, epsilon, groups[0].WeightDecay);
    }
}
