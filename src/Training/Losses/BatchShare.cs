namespace Microsoft.ML.Mask2Former.Training.Losses;

/// <summary>
/// How a batch takes part in a combined batch, so that splitting the combined batch over
/// processes changes nothing but the order of float additions: each image draws its random points
/// (matching, importance sampling) from its own generator, so an image gets the same points in
/// whichever batch or process it is; and each loss term is a sum over this batch's images
/// divided by the combined batch's divisor, so the terms of all parts add up to the combined
/// batch's loss (and their gradients to its gradient).
/// </summary>
/// <param name="ImageRandom">One generator per image of this batch, in batch order.</param>
/// <param name="MaskDivisor">Divides the summed mask and dice losses: the combined batch's segment count (at least 1).</param>
/// <param name="ClassWeightDivisor">Divides the summed weighted cross-entropy: the combined batch's total class weight over all queries.</param>
internal sealed record BatchShare(IReadOnlyList<Generator> ImageRandom, double MaskDivisor, double ClassWeightDivisor)
{
    /// <summary>
    /// The divisors of a combined batch whose images hold <paramref name="segmentCounts"/> segments:
    /// the criterion's own per-batch normalisers (the number of target masks; the sum of the class
    /// weights of all queries, 1 for the min(Q, T) matched queries of an image and
    /// <paramref name="noObjectWeight"/> for the rest, as <c>F.cross_entropy</c>'s weighted mean uses).
    /// </summary>
    public static BatchShare For(IReadOnlyList<int> segmentCounts, int queries, double noObjectWeight, IReadOnlyList<Generator> imageRandom)
    {
        double masks = 0, weights = 0;
        foreach (var count in segmentCounts)
        {
            var matched = Math.Min(queries, count);
            masks += count;
            weights += matched + noObjectWeight * (queries - matched);
        }
        return new BatchShare(imageRandom, Math.Max(1, masks), weights);
    }
}
