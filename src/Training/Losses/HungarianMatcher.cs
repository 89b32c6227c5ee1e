namespace Microsoft.ML.Mask2Former.Training.Losses;

/// <summary>
/// Mask2Former's bipartite matching of queries to ground-truth segments. Per image the cost of
/// pairing query q with target t is
/// <c>ClassCost · (−softmax(class logits)[q, label t]) + MaskCost · BCE(q, t) + DiceCost · dice(q, t)</c>,
/// with the mask terms on <see cref="HungarianMatcherOptions.NumPoints"/> points drawn uniformly
/// (<c>torch.rand</c>) once per image and shared by every predicted and target mask; the pairing of
/// least total cost comes from <see cref="LinearAssignment"/>. No gradients are recorded.
/// </summary>
public sealed class HungarianMatcher
{
    /// <summary>Creates a matcher.</summary>
    /// <param name="options">Cost weights and point count; <see langword="null"/> for the defaults.</param>
    /// <exception cref="ArgumentException">An option is out of range.</exception>
    public HungarianMatcher(HungarianMatcherOptions? options = null)
    {
        Options = options ?? new HungarianMatcherOptions();
        Options.Validate();
    }

    /// <summary>The settings in use.</summary>
    public HungarianMatcherOptions Options { get; }

    /// <summary>
    /// Replaces the uniform draw of an image's points (for tests): given the image index, returns
    /// the points [P, 2] as (x, y) in [0, 1].
    /// </summary>
    internal Func<int, Tensor>? PointsOverride { get; set; }

    /// <summary>Matches the queries of every image of a batch to that image's targets.</summary>
    /// <param name="classLogits">Class logits [B, Q, K + 1] (last = "no object").</param>
    /// <param name="maskLogits">Mask logits [B, Q, h, w].</param>
    /// <param name="targets">One target per image, B of them.</param>
    /// <returns>Per image, the matched query indices (ascending) and their target indices; min(Q, T) pairs.</returns>
    /// <exception cref="ArgumentException">The shapes do not fit together or a label is out of range.</exception>
    public IReadOnlyList<QueryTargetMatch> Match(Tensor classLogits, Tensor maskLogits, IReadOnlyList<SegmentationTarget> targets) =>
        Match(classLogits, maskLogits, targets, random: null);

    /// <summary>Matches as <see cref="Match(Tensor, Tensor, IReadOnlyList{SegmentationTarget})"/>, drawing each image's points from its own generator when <paramref name="random"/> is given.</summary>
    internal IReadOnlyList<QueryTargetMatch> Match(Tensor classLogits, Tensor maskLogits, IReadOnlyList<SegmentationTarget> targets, IReadOnlyList<Generator>? random)
    {
        CheckInputs(classLogits, maskLogits, targets);
        using var scope = NewDisposeScope();
        var matches = new QueryTargetMatch[targets.Count];
        for (var b = 0; b < targets.Count; b++)
        {
            if (targets[b].Count == 0)
            {
                matches[b] = new QueryTargetMatch([], []);
                continue;
            }
            var queries = (int)classLogits.shape[1];
            var cost = CostMatrix(classLogits[b], maskLogits[b], targets[b], b, random?[b]);
            var (rows, cols) = LinearAssignment.Solve(cost, queries, targets[b].Count);
            matches[b] = new QueryTargetMatch(rows, cols);
        }
        return matches;
    }

    /// <summary>The cost matrix [Q × T], row-major, of one image (class logits [Q, K + 1], mask logits [Q, h, w]).</summary>
    internal double[] CostMatrix(Tensor classLogits, Tensor maskLogits, SegmentationTarget target, int imageIndex, Generator? random = null)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var device = maskLogits.device;
        var labels = target.Labels.to(device);
        var classCost = -classLogits.to(ScalarType.Float32).softmax(-1).index_select(1, labels);

        var points = PointsOverride?.Invoke(imageIndex).to(ScalarType.Float32).to(device)
            ?? (random is null ? rand([Options.NumPoints, 2], ScalarType.Float32, device) : rand([Options.NumPoints, 2], ScalarType.Float32, generator: random).to(device));
        // Mask costs in float32 even under reduced-precision training, as the reference does.
        var predicted = PointSampling.SampleShared(maskLogits.to(ScalarType.Float32), points);
        var wanted = PointSampling.SampleShared(target.Masks.to(ScalarType.Float32).to(device), points);
        var maskCost = PointSampling.PairwiseSigmoidCrossEntropy(predicted, wanted);
        var diceCost = PointSampling.PairwiseDice(predicted, wanted);

        var cost = Options.MaskCost * maskCost + Options.ClassCost * classCost + Options.DiceCost * diceCost;
        var values = cost.to(ScalarType.Float64).cpu().data<double>().ToArray();
        for (var k = 0; k < values.Length; k++)
        {
            if (!double.IsFinite(values[k]))
                throw new ArgumentException($"image {imageIndex}: the matching cost of query {k / target.Count} and target {k % target.Count} is {values[k]} (non-finite logits?)");
        }
        return values;
    }

    internal static void CheckInputs(Tensor classLogits, Tensor maskLogits, IReadOnlyList<SegmentationTarget> targets)
    {
        ArgumentNullException.ThrowIfNull(classLogits);
        ArgumentNullException.ThrowIfNull(maskLogits);
        ArgumentNullException.ThrowIfNull(targets);
        if (classLogits.dim() != 3 || classLogits.shape[2] < 2)
            throw new ArgumentException($"class logits must be [B, Q, K + 1] with K ≥ 1, got [{string.Join(", ", classLogits.shape)}]", nameof(classLogits));
        if (maskLogits.dim() != 4 || maskLogits.shape[0] != classLogits.shape[0] || maskLogits.shape[1] != classLogits.shape[1])
            throw new ArgumentException($"mask logits must be [{classLogits.shape[0]}, {classLogits.shape[1]}, h, w], got [{string.Join(", ", maskLogits.shape)}]", nameof(maskLogits));
        if (targets.Count != classLogits.shape[0])
            throw new ArgumentException($"{targets.Count} targets for a batch of {classLogits.shape[0]} images", nameof(targets));
        var classes = classLogits.shape[2] - 1;
        for (var b = 0; b < targets.Count; b++)
        {
            if (targets[b] is null) throw new ArgumentException($"target {b} is null", nameof(targets));
            if (targets[b].Count == 0) continue;
            using var scope = NewDisposeScope();
            var min = targets[b].Labels.min().item<long>();
            var max = targets[b].Labels.max().item<long>();
            if (min < 0 || max >= classes)
                throw new ArgumentException($"image {b}: a label is outside 0..{classes - 1} (found {(min < 0 ? min : max)})", nameof(targets));
        }
    }
}
