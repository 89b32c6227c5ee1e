using System.Collections.Immutable;

namespace Microsoft.ML.Mask2Former.PostProcessing;

/// <summary>One segment of a panoptic result.</summary>
public sealed class PanopticSegment
{
    internal PanopticSegment(int id, int categoryId, bool isThing, float score, long area, PixelBox box, ImmutableArray<int> queries)
    {
        Id = id;
        CategoryId = categoryId;
        IsThing = isThing;
        Score = score;
        Area = area;
        Box = box;
        Queries = queries;
    }

    /// <summary>The segment's value in the segment-id map (consecutive from 1).</summary>
    public int Id { get; }

    /// <summary>The category: the index of the class logit (0 … K−1), not a dataset id.</summary>
    public int CategoryId { get; }

    /// <summary>Whether the category is a thing class (from the options' thing classes).</summary>
    public bool IsThing { get; }

    /// <summary>
    /// The class probability of the query that created the segment (detectron2 returns no score;
    /// this is the softmax maximum that passed <c>object_mask_threshold</c>).
    /// </summary>
    public float Score { get; }

    /// <summary>Pixels of the map holding <see cref="Id"/>.</summary>
    public long Area { get; }

    /// <summary>The bounding box of those pixels.</summary>
    public PixelBox Box { get; }

    /// <summary>The kept queries whose pixels form the segment, in query order (more than one for merged stuff).</summary>
    public ImmutableArray<int> Queries { get; }

    /// <inheritdoc/>
    public override string ToString() => $"{Id}: category {CategoryId} ({(IsThing ? "thing" : "stuff")}), score {Score}, area {Area}";
}
