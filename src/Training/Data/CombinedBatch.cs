namespace Microsoft.ML.Mask2Former.Training.Data;

/// <summary>
/// What a process knows about the combined batch of a step, all of whose images it may not hold:
/// each image's segment count (in batch order, for the loss divisors) and the padded input size
/// every part of it is padded to (so each image is padded as in the combined batch).
/// </summary>
internal sealed record CombinedBatch(IReadOnlyList<int> SegmentCounts, int Height, int Width)
{
    /// <summary>The number of images.</summary>
    public int Images => SegmentCounts.Count;

    /// <summary>The combined batch of these examples alone.</summary>
    public static CombinedBatch Of(IReadOnlyList<TrainingExample> examples) => examples.Count == 0
        ? new CombinedBatch([], 0, 0)
        : new CombinedBatch(examples.Select(e => e.Labels.Length).ToArray(),
            TrainingBatch.RoundUp(examples.Max(e => e.Height)), TrainingBatch.RoundUp(examples.Max(e => e.Width)));
}
