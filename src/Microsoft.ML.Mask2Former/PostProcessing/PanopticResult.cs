using System.Collections.Immutable;

namespace Microsoft.ML.Mask2Former.PostProcessing;

/// <summary>A panoptic segmentation of one image: a segment-id map and its segments.</summary>
public sealed class PanopticResult
{
    internal PanopticResult(int height, int width, ImmutableArray<int> segmentIds, ImmutableArray<PanopticSegment> segments, ImmutableArray<int> keptQueries)
    {
        Height = height;
        Width = width;
        SegmentIds = segmentIds;
        Segments = segments;
        KeptQueries = keptQueries;
    }

    /// <summary>Rows of <see cref="SegmentIds"/>.</summary>
    public int Height { get; }

    /// <summary>Columns of <see cref="SegmentIds"/>.</summary>
    public int Width { get; }

    /// <summary>Row-major <c>Height × Width</c> segment ids; 0 is "no segment".</summary>
    public ImmutableArray<int> SegmentIds { get; }

    /// <summary>The segments, by increasing id.</summary>
    public ImmutableArray<PanopticSegment> Segments { get; }

    /// <summary>The queries that passed the class-score test, in query order (some may have been rejected by the overlap test).</summary>
    public ImmutableArray<int> KeptQueries { get; }
}
