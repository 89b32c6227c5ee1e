using System.Collections.Immutable;

namespace Microsoft.ML.Mask2Former.PostProcessing;

/// <summary>One segment of an mmdetection panoptic map (<see cref="MmDetectionPanopticResult"/>).</summary>
public sealed class MmDetectionPanopticSegment
{
    internal MmDetectionPanopticSegment(int value, int categoryId, int instanceId, bool isThing, float score, long area, PixelBox box, ImmutableArray<int> queries)
    {
        Value = value;
        CategoryId = categoryId;
        InstanceId = instanceId;
        IsThing = isThing;
        Score = score;
        Area = area;
        Box = box;
        Queries = queries;
    }

    /// <summary>
    /// The segment's value in <see cref="MmDetectionPanopticResult.PanResults"/>: the class for
    /// stuff, <c>class + InstanceId × 1000</c> for things (<see cref="MmDetectionPostProcessor.InstanceOffset"/>).
    /// </summary>
    public int Value { get; }

    /// <summary>The category: the index of the class logit (0 … K−1), not a dataset id.</summary>
    public int CategoryId { get; }

    /// <summary>The thing's instance id (1, 2, … in query order over accepted things); 0 for stuff.</summary>
    public int InstanceId { get; }

    /// <summary>Whether the category is a thing class.</summary>
    public bool IsThing { get; }

    /// <summary>The class probability of the query that created the segment (mmdetection returns no score).</summary>
    public float Score { get; }

    /// <summary>
    /// Pixels of the map holding <see cref="Value"/>. It can be 0: with <c>filter_low_score</c> an
    /// accepted thing may lose every pixel to the 0.5 filter and still spend its instance id.
    /// </summary>
    public long Area { get; }

    /// <summary>The bounding box of those pixels (all zero when <see cref="Area"/> is 0).</summary>
    public PixelBox Box { get; }

    /// <summary>The kept queries whose pixels form the segment, in query order (more than one for merged stuff).</summary>
    public ImmutableArray<int> Queries { get; }

    /// <inheritdoc/>
    public override string ToString() => $"{Value}: category {CategoryId} ({(IsThing ? $"thing {InstanceId}" : "stuff")}), score {Score}, area {Area}";
}
