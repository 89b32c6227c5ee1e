namespace Microsoft.ML.Mask2Former.Training.Losses;

/// <summary>
/// Sampling masks at points instead of over the whole grid (PointRend's idea, which Mask2Former
/// uses to train at a fraction of the memory). Points are (x, y) in [0, 1] over the mask's extent.
/// </summary>
internal static class PointSampling
{
    /// <summary>Creates uniform random numbers of a shape on a device (the hook tests replace).</summary>
    internal delegate Tensor Uniform(long[] shape, Device device);

    internal static readonly Uniform TorchRand = (shape, device) => rand(shape, ScalarType.Float32, device);

    /// <summary>
    /// Bilinear values of <paramref name="masks"/> [N, C, H, W] at <paramref name="points"/> [N, P, 2]:
    /// [N, C, P]. Coordinates are scaled to grid_sample's [−1, 1] with <c>align_corners = false</c>,
    /// so point (x + 0.5) / W, (y + 0.5) / H is the centre of pixel (x, y); outside is zero.
    /// </summary>
    internal static Tensor Sample(Tensor masks, Tensor points)
    {
        using var scope = NewDisposeScope();
        var grid = (points * 2.0 - 1.0).unsqueeze(2);
        var sampled = nn.functional.grid_sample(masks, grid, GridSampleMode.Bilinear, GridSamplePaddingMode.Zeros, align_corners: false);
        return sampled.squeeze(3).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Samples every one of <paramref name="channels"/> [C, H, W] at the same points [P, 2]: [C, P].
    /// </summary>
    internal static Tensor SampleShared(Tensor channels, Tensor points)
    {
        using var scope = NewDisposeScope();
        var sampled = Sample(channels.unsqueeze(0), points.unsqueeze(0));
        return sampled.squeeze(0).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Importance sampling by uncertainty: from <c>oversample · P</c> uniform candidates per mask,
    /// keeps the <c>importance · P</c> where the logit is closest to 0 (uncertainty = −|logit|) and
    /// adds the rest as fresh uniform points. <paramref name="logits"/> [N, 1, H, W]; returns [N, P, 2].
    /// </summary>
    internal static Tensor UncertainPoints(Tensor logits, int numPoints, double oversampleRatio, double importanceSampleRatio, Uniform uniform)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var n = logits.shape[0];
        var candidates = (int)(numPoints * oversampleRatio);
        var important = (int)(importanceSampleRatio * numPoints);
        var random = numPoints - important;
        var coords = uniform([n, candidates, 2], logits.device);
        var uncertainty = -Sample(logits, coords).select(1, 0).abs();
        var (_, indices) = uncertainty.topk(important, dim: 1);
        var chosen = coords.gather(1, indices.unsqueeze(-1).expand(n, important, 2));
        if (random > 0) chosen = cat([chosen, uniform([n, random, 2], logits.device)], 1);
        return chosen.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Pairwise mean sigmoid cross-entropy between predicted logits [Q, P] and binary targets [T, P]: [Q, T].
    /// </summary>
    internal static Tensor PairwiseSigmoidCrossEntropy(Tensor logits, Tensor targets)
    {
        using var scope = NewDisposeScope();
        var points = logits.shape[1];
        // BCE(x, 1) and BCE(x, 0) per point; a target mixes them linearly, hence two products.
        var positive = nn.functional.binary_cross_entropy_with_logits(logits, ones_like(logits), reduction: nn.Reduction.None);
        var negative = nn.functional.binary_cross_entropy_with_logits(logits, zeros_like(logits), reduction: nn.Reduction.None);
        var cost = (positive.matmul(targets.t()) + negative.matmul((1 - targets).t())) / points;
        return cost.MoveToOuterDisposeScope();
    }

    /// <summary>Pairwise dice cost 1 − (2·Σ p·t + 1) / (Σ p + Σ t + 1), p = sigmoid(logits): [Q, T].</summary>
    internal static Tensor PairwiseDice(Tensor logits, Tensor targets)
    {
        using var scope = NewDisposeScope();
        var p = logits.sigmoid();
        var numerator = 2 * p.matmul(targets.t());
        var denominator = p.sum(-1).unsqueeze(1) + targets.sum(-1).unsqueeze(0);
        return (1 - (numerator + 1) / (denominator + 1)).MoveToOuterDisposeScope();
    }

    /// <summary>Σ over masks of the mean sigmoid cross-entropy over points, for aligned [N, P] logits and targets.</summary>
    internal static Tensor SigmoidCrossEntropySum(Tensor logits, Tensor targets)
    {
        using var scope = NewDisposeScope();
        var loss = nn.functional.binary_cross_entropy_with_logits(logits, targets, reduction: nn.Reduction.None);
        return loss.mean([1]).sum().MoveToOuterDisposeScope();
    }

    /// <summary>Σ over masks of the dice loss, for aligned [N, P] logits and targets.</summary>
    internal static Tensor DiceSum(Tensor logits, Tensor targets)
    {
        using var scope = NewDisposeScope();
        var p = logits.sigmoid();
        var numerator = 2 * (p * targets).sum(-1);
        var denominator = p.sum(-1) + targets.sum(-1);
        return (1 - (numerator + 1) / (denominator + 1)).sum().MoveToOuterDisposeScope();
    }
}
