using Microsoft.ML.Mask2Former.Training.Modeling;

namespace Microsoft.ML.Mask2Former.Training.Losses;

/// <summary>
/// Mask2Former's set loss. Each prediction layer's queries are matched to the ground truth by
/// <see cref="HungarianMatcher"/>; then
/// <list type="bullet">
/// <item><c>loss_ce</c>: cross-entropy of every query's class logits against its matched label, or
/// "no object" for unmatched queries, with "no object" weighted <see cref="Mask2FormerCriterionOptions.NoObjectWeight"/>
/// (a weighted mean, as <c>F.cross_entropy</c> with class weights computes it);</item>
/// <item><c>loss_mask</c> and <c>loss_dice</c>: sigmoid cross-entropy (mean over points) and dice
/// of every matched mask at <see cref="Mask2FormerCriterionOptions.NumPoints"/> points chosen by
/// uncertainty (PointRend importance sampling), summed and divided by the number of target masks
/// in the batch (at least 1).</item>
/// </list>
/// With deep supervision the auxiliary predictions get the same terms, suffixed <c>_0</c>, <c>_1</c>, …,
/// and the total is <c>Σ ClassWeight·ce + MaskWeight·mask + DiceWeight·dice</c> over all layers.
/// </summary>
/// <remarks>Random points come from the global TorchSharp generator (<c>torch.manual_seed</c> makes them repeatable);
/// the trainer gives each image its own generator instead (<see cref="BatchShare"/>).</remarks>
public sealed class Mask2FormerCriterion
{
    /// <summary>Creates the criterion for <paramref name="numClasses"/> classes (K; the "no object" index is K).</summary>
    /// <param name="numClasses">The number of real classes K ≥ 1.</param>
    /// <param name="options">Weights and sampling settings; <see langword="null"/> for the defaults.</param>
    /// <exception cref="ArgumentException">An option is out of range.</exception>
    public Mask2FormerCriterion(int numClasses, Mask2FormerCriterionOptions? options = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(numClasses, 1);
        NumClasses = numClasses;
        Options = options ?? new Mask2FormerCriterionOptions();
        Options.Validate();
        Matcher = new HungarianMatcher(Options.Matcher);
    }

    /// <summary>The number of real classes K.</summary>
    public int NumClasses { get; }

    /// <summary>The settings in use.</summary>
    public Mask2FormerCriterionOptions Options { get; }

    /// <summary>The matcher (built from <see cref="Mask2FormerCriterionOptions.Matcher"/>).</summary>
    public HungarianMatcher Matcher { get; }

    /// <summary>
    /// Replaces the importance sampling of the mask-loss points (for tests): given the matched
    /// mask logits [N, 1, h, w], returns the points [N, P, 2] as (x, y) in [0, 1].
    /// </summary>
    internal Func<Tensor, Tensor>? MaskPointsOverride { get; set; }

    /// <summary>Replaces <c>torch.rand</c> inside the importance sampling (for tests).</summary>
    internal PointSampling.Uniform Uniform { get; set; } = PointSampling.TorchRand;

    /// <summary>Computes the loss of a network output.</summary>
    /// <param name="output">The output of <see cref="Mask2FormerForUniversalSegmentation"/>.</param>
    /// <param name="targets">One target per image of the batch.</param>
    /// <returns>The terms and the weighted total; the caller disposes it.</returns>
    public Mask2FormerLoss Compute(Mask2FormerOutput output, IReadOnlyList<SegmentationTarget> targets)
    {
        ArgumentNullException.ThrowIfNull(output);
        return Compute(output.ClassQueriesLogits, output.MasksQueriesLogits, output.AuxiliaryLogits, targets);
    }

    /// <summary>Computes this batch's share of a combined batch's loss (per-image random points, the combined batch's divisors).</summary>
    internal Mask2FormerLoss Compute(Mask2FormerOutput output, IReadOnlyList<SegmentationTarget> targets, BatchShare share)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(share);
        if (share.ImageRandom.Count != targets.Count)
            throw new ArgumentException($"{share.ImageRandom.Count} generators for {targets.Count} images", nameof(share));
        return Compute(output.ClassQueriesLogits, output.MasksQueriesLogits, output.AuxiliaryLogits, targets, share);
    }

    /// <summary>Computes the loss of the last prediction and (with deep supervision) the auxiliary ones.</summary>
    /// <param name="classLogits">Class logits [B, Q, K + 1].</param>
    /// <param name="maskLogits">Mask logits [B, Q, h, w].</param>
    /// <param name="auxiliary">Earlier layers' (class, mask) logits of the same shapes; may be empty.</param>
    /// <param name="targets">One target per image of the batch.</param>
    /// <returns>The terms and the weighted total; the caller disposes it.</returns>
    /// <exception cref="ArgumentException">The shapes do not fit together or a label is out of range.</exception>
    public Mask2FormerLoss Compute(Tensor classLogits, Tensor maskLogits, IReadOnlyList<(Tensor Class, Tensor Masks)> auxiliary,
        IReadOnlyList<SegmentationTarget> targets) => Compute(classLogits, maskLogits, auxiliary, targets, share: null);

    private Mask2FormerLoss Compute(Tensor classLogits, Tensor maskLogits, IReadOnlyList<(Tensor Class, Tensor Masks)> auxiliary,
        IReadOnlyList<SegmentationTarget> targets, BatchShare? share)
    {
        ArgumentNullException.ThrowIfNull(auxiliary);
        HungarianMatcher.CheckInputs(classLogits, maskLogits, targets);
        if (classLogits.shape[2] != NumClasses + 1)
            throw new ArgumentException($"class logits have {classLogits.shape[2]} classes, the criterion expects {NumClasses} + 1 (no object)", nameof(classLogits));
        var layers = new List<(Tensor Class, Tensor Masks, string Suffix)> { (classLogits, maskLogits, "") };
        if (Options.DeepSupervision)
        {
            for (var i = 0; i < auxiliary.Count; i++)
            {
                var (c, m) = auxiliary[i];
                if (c is null || m is null || !c.shape.SequenceEqual(classLogits.shape) || m.dim() != 4 || m.shape[0] != maskLogits.shape[0] || m.shape[1] != maskLogits.shape[1])
                    throw new ArgumentException($"auxiliary prediction {i} does not have the shapes of the last one", nameof(auxiliary));
                layers.Add((c, m, "_" + i.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            }
        }

        using var scope = NewDisposeScope();
        var numMasks = share?.MaskDivisor ?? Math.Max(1, targets.Sum(t => t.Count));
        var terms = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var matches = new List<IReadOnlyList<QueryTargetMatch>>(layers.Count);
        Tensor? total = null;
        foreach (var (c, m, suffix) in layers)
        {
            var matched = Matcher.Match(c, m, targets, share?.ImageRandom);
            matches.Add(matched);
            var ce = ClassLoss(c, matched, targets, share?.ClassWeightDivisor);
            var (mask, dice) = MaskLosses(m, matched, targets, numMasks, share?.ImageRandom);
            terms["loss_ce" + suffix] = ce;
            terms["loss_mask" + suffix] = mask;
            terms["loss_dice" + suffix] = dice;
            var weighted = Options.ClassWeight * ce + Options.MaskWeight * mask + Options.DiceWeight * dice;
            total = total is null ? weighted : total + weighted;
        }
        foreach (var t in terms.Values) t.MoveToOuterDisposeScope();
        return new Mask2FormerLoss(total!.MoveToOuterDisposeScope(), terms, matches);
    }

    /// <summary>
    /// Weighted cross-entropy over [B, Q] queries; unmatched queries are labelled "no object". The
    /// weighted mean, or with <paramref name="weightDivisor"/> the weighted sum divided by it.
    /// </summary>
    internal Tensor ClassLoss(Tensor classLogits, IReadOnlyList<QueryTargetMatch> matches, IReadOnlyList<SegmentationTarget> targets, double? weightDivisor = null)
    {
        using var scope = NewDisposeScope();
        long batch = classLogits.shape[0], queries = classLogits.shape[1];
        var wanted = new long[batch * queries];
        Array.Fill(wanted, NumClasses);
        for (var b = 0; b < batch; b++)
        {
            if (matches[b].Count == 0) continue;
            var labels = targets[b].Labels.cpu().data<long>().ToArray();
            for (var k = 0; k < matches[b].Count; k++) wanted[b * queries + matches[b].Queries[k]] = labels[matches[b].Targets[k]];
        }
        var device = classLogits.device;
        var target = tensor(wanted, [batch, queries], ScalarType.Int64, device);
        var weights = ones(NumClasses + 1, ScalarType.Float32, device);
        weights[NumClasses] = (float)Options.NoObjectWeight;
        var logits = classLogits.to(ScalarType.Float32).transpose(1, 2);
        if (weightDivisor is { } divisor)
            return (nn.functional.cross_entropy(logits, target, weights, reduction: nn.Reduction.Sum) / divisor).MoveToOuterDisposeScope();
        return nn.functional.cross_entropy(logits, target, weights).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The summed point losses of every matched mask, divided by <paramref name="numMasks"/>; the
    /// importance-sampling candidates come from <see cref="Uniform"/>, or per image from <paramref name="imageRandom"/>.
    /// </summary>
    internal (Tensor Mask, Tensor Dice) MaskLosses(Tensor maskLogits, IReadOnlyList<QueryTargetMatch> matches, IReadOnlyList<SegmentationTarget> targets, double numMasks,
        IReadOnlyList<Generator>? imageRandom = null)
    {
        using var scope = NewDisposeScope();
        var device = maskLogits.device;
        var predicted = new List<Tensor>();
        var images = new List<(int Image, int Offset, int Count)>();
        var offset = 0;
        for (var b = 0; b < matches.Count; b++)
        {
            if (matches[b].Count == 0) continue;
            var queries = tensor(matches[b].Queries.Select(q => (long)q).ToArray(), ScalarType.Int64, device);
            predicted.Add(maskLogits[b].index_select(0, queries));
            images.Add((b, offset, matches[b].Count));
            offset += matches[b].Count;
        }
        if (offset == 0)
        {
            // Nothing to match: zero losses that still belong to the graph.
            var zero = maskLogits.sum() * 0.0;
            return (zero.MoveToOuterDisposeScope(), zero.clone().MoveToOuterDisposeScope());
        }

        var sourceMasks = cat(predicted, 0).to(ScalarType.Float32).unsqueeze(1);
        Tensor points;
        using (no_grad())
        {
            points = MaskPointsOverride?.Invoke(sourceMasks.detach()).to(ScalarType.Float32).to(device)
                ?? PointSampling.UncertainPoints(sourceMasks.detach(), Options.NumPoints, Options.OversampleRatio, Options.ImportanceSampleRatio,
                    imageRandom is null ? Uniform : PerImage(images, imageRandom));
        }
        var labels = new List<Tensor>(images.Count);
        using (no_grad())
        {
            foreach (var (b, start, count) in images)
            {
                var which = tensor(matches[b].Targets.Select(t => (long)t).ToArray(), ScalarType.Int64, targets[b].Masks.device);
                var wanted = targets[b].Masks.index_select(0, which).to(ScalarType.Float32).to(device).unsqueeze(1);
                labels.Add(PointSampling.Sample(wanted, points.narrow(0, start, count)).squeeze(1));
            }
        }
        var pointLabels = cat(labels, 0);
        var pointLogits = PointSampling.Sample(sourceMasks, points).squeeze(1);
        var mask = PointSampling.SigmoidCrossEntropySum(pointLogits, pointLabels) / numMasks;
        var dice = PointSampling.DiceSum(pointLogits, pointLabels) / numMasks;
        return (mask.MoveToOuterDisposeScope(), dice.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// Uniform numbers for the matched masks of several images, [Σ count, n, 2]: each image's rows
    /// drawn from its own generator, so they do not depend on the other images of the batch.
    /// </summary>
    private static PointSampling.Uniform PerImage(IReadOnlyList<(int Image, int Offset, int Count)> images, IReadOnlyList<Generator> random) => (shape, device) =>
    {
        using var scope = NewDisposeScope();
        var parts = images.Select(i => rand([i.Count, .. shape[1..]], ScalarType.Float32, generator: random[i.Image])).ToList();
        return cat(parts, 0).to(device).MoveToOuterDisposeScope();
    };
}
