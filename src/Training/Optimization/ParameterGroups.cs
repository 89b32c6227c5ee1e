using Microsoft.ML.Mask2Former.Training.Modeling;
using TorchSharp;

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

    /// <summary>
    /// The groups of ViT-Adapter's <c>LayerDecayOptimizerConstructor</c> (see
    /// <see cref="Mask2FormerTrainerOptions.LayerDecayRate"/>): one group per (layer, decay or not),
    /// in the order their first parameter appears, as that constructor builds them.
    /// </summary>
    /// <exception cref="ArgumentException">The backbone is not a ViT-Adapter.</exception>
    public static IReadOnlyList<Group> BuildLayerDecay(Mask2FormerForUniversalSegmentation network, double learningRate, double weightDecay, double rate)
    {
        if (network.Config.Backbone is not Modeling.VitAdapter.VitAdapterConfig vit)
            throw new ArgumentException($"layer-wise learning-rate decay needs a ViT-Adapter backbone; this network's is {network.Config.Backbone.ModelType}");
        var layers = vit.Depth + 2;
        var groups = new List<(string Name, List<(string, Parameter)> Members, double LearningRate, double WeightDecay)>();
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (name, parameter) in network.named_parameters())
        {
            if (!parameter.requires_grad) continue;
            var decay = !(parameter.dim() == 1 || name.EndsWith(".bias", StringComparison.Ordinal));
            var layer = LayerOf(name, layers);
            var key = $"layer_{layer}_{(decay ? "decay" : "no_decay")}";
            if (!index.TryGetValue(key, out var g))
            {
                index[key] = g = groups.Count;
                groups.Add((key, [], learningRate * Math.Pow(rate, layers - layer - 1), decay ? weightDecay : 0.0));
            }
            groups[g].Members.Add((name, parameter));
        }
        return groups.Select(g => new Group(g.Name, g.Members, g.LearningRate, g.WeightDecay)).ToList();
    }

    /// <summary>
    /// The layer id of ViT-Adapter's <c>get_num_layer_for_vit</c> for one of our parameter names (the
    /// backbone's names are mmdetection's after the <see cref="BackbonePrefix"/>).
    /// </summary>
    internal static int LayerOf(string name, int layers)
    {
        if (!name.StartsWith(BackbonePrefix, StringComparison.Ordinal)) return layers - 1;
        var local = name[BackbonePrefix.Length..];
        if (local is "cls_token" or "mask_token" or "pos_embed" || local.StartsWith("visual_embed", StringComparison.Ordinal)
            || local.StartsWith("patch_embed", StringComparison.Ordinal))
            return 0;
        if (local.StartsWith("blocks.", StringComparison.Ordinal) || local.StartsWith("layers.", StringComparison.Ordinal))
            return int.Parse(local.Split('.')[1], System.Globalization.CultureInfo.InvariantCulture) + 1;
        return layers - 1;
    }

    /// <summary>Embedding tables stored as plain parameters rather than Embedding modules.</summary>
    private static bool IsEmbeddingName(string name) =>
        name.Contains("relative_position_bias_table", StringComparison.Ordinal) ||
        name.Contains("absolute_pos_embed", StringComparison.Ordinal);

    public static AdamW CreateAdamW(IReadOnlyList<Group> groups, double beta1, double beta2, double epsilon)
    {
        var paramGroups = groups.Select(g => new AdamW.ParamGroup(g.Parameters.Select(p => p.Parameter),
            new AdamW.Options { LearningRate = g.LearningRate, InitialLearningRate = g.LearningRate, beta1 = beta1, beta2 = beta2, eps = epsilon, weight_decay = g.WeightDecay }));
        return torch.optim.AdamW(paramGroups, groups[0].LearningRate, beta1, beta2, epsilon, groups[0].WeightDecay);
    }
}
