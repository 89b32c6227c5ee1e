using System.Collections.Immutable;

namespace Microsoft.ML.Mask2Former.PostProcessing;

/// <summary>
/// A panoptic segmentation of one image in mmdetection's own form (<c>pan_results</c>): every
/// pixel holds the class for stuff, <c>class + instance_id × 1000</c> for things, or
/// <see cref="VoidLabel"/> (the number of classes). <see cref="ToPanopticResult"/> gives the
/// project's form (segment ids 1 … n, 0 = void) for the ML.NET transforms and the evaluators.
/// </summary>
public sealed class MmDetectionPanopticResult
{
    private readonly int[] _segmentIndex;

    internal MmDetectionPanopticResult(int height, int width, int voidLabel, ImmutableArray<int> panResults, int[] segmentIndex,
        ImmutableArray<MmDetectionPanopticSegment> segments, ImmutableArray<int> keptQueries)
    {
        Height = height;
        Width = width;
        VoidLabel = voidLabel;
        PanResults = panResults;
        _segmentIndex = segmentIndex;
        Segments = segments;
        KeptQueries = keptQueries;
    }

    /// <summary>Rows of <see cref="PanResults"/>.</summary>
    public int Height { get; }

    /// <summary>Columns of <see cref="PanResults"/>.</summary>
    public int Width { get; }

    /// <summary>The value of void pixels: the number of classes K (mmdetection's <c>num_classes</c>).</summary>
    public int VoidLabel { get; }

    /// <summary>Row-major <c>Height × Width</c> map, mmdetection's <c>pan_results</c>.</summary>
    public ImmutableArray<int> PanResults { get; }

    /// <summary>
    /// The accepted segments in the order mmdetection creates them (query order; a stuff class is
    /// one segment created by its first accepted query), including any that ended with no pixel.
    /// </summary>
    public ImmutableArray<MmDetectionPanopticSegment> Segments { get; }

    /// <summary>The queries that passed the class-score test, in query order (some may have been rejected by the overlap test).</summary>
    public ImmutableArray<int> KeptQueries { get; }

    /// <summary>
    /// The same segmentation as a <see cref="PanopticResult"/>: the segments that hold at least one
    /// pixel get ids 1, 2, … in the order of <see cref="Segments"/>; void is 0.
    /// </summary>
    public PanopticResult ToPanopticResult()
    {
        var newId = new int[Segments.Length + 1];
        var segments = ImmutableArray.CreateBuilder<PanopticSegment>();
        for (var i = 0; i < Segments.Length; i++)
        {
            var s = Segments[i];
            if (s.Area == 0) continue;
            newId[i + 1] = segments.Count + 1;
            segments.Add(new PanopticSegment(segments.Count + 1, s.CategoryId, s.IsThing, s.Score, s.Area, s.Box, s.Queries));
        }
        var map = new int[_segmentIndex.Length];
        for (var p = 0; p < map.Length; p++) map[p] = newId[_segmentIndex[p]];
        return new PanopticResult(Height, Width, PixelMath.Own(map), segments.ToImmutable(), KeptQueries);
    }
}
