namespace Microsoft.ML.Mask2Former.Training.Losses;

/// <summary>The matching of one image: query <c>Queries[k]</c> predicts target <c>Targets[k]</c>.</summary>
/// <param name="Queries">Matched query indices, ascending.</param>
/// <param name="Targets">The target index matched to each query.</param>
public sealed record QueryTargetMatch(int[] Queries, int[] Targets)
{
    /// <summary>The number of matched pairs.</summary>
    public int Count => Queries.Length;
}
