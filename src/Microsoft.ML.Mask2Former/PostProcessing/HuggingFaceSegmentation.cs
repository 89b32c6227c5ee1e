using System.Collections.Immutable;

namespace Microsoft.ML.Mask2Former.PostProcessing;

/// <summary>A Hugging Face style result: a <c>segmentation</c> map and its <c>segments_info</c>.</summary>
public sealed class HuggingFaceSegmentation
{
    internal HuggingFaceSegmentation(int height, int width, ImmutableArray<int> map, bool isFloatMap, ImmutableArray<HuggingFaceSegment> segments)
    {
        Height = height;
        Width = width;
        Map = map;
        IsFloatMap = isFloatMap;
        Segments = segments;
    }

    /// <summary>Rows of <see cref="Map"/>.</summary>
    public int Height { get; }

    /// <summary>Columns of <see cref="Map"/>.</summary>
    public int Width { get; }

    /// <summary>
    /// Row-major segment ids. Panoptic: 0 is "no segment", or every pixel is −1 when no query
    /// passed the threshold. Instance: −1 is background and instance ids start at 0.
    /// </summary>
    public ImmutableArray<int> Map { get; }

    /// <summary>
    /// Whether Hugging Face returns this map as float32 rather than int32 (instance results always;
    /// panoptic results when nothing passed the threshold). The values are the same integers.
    /// </summary>
    public bool IsFloatMap { get; }

    /// <summary>The segments in the order Hugging Face lists them.</summary>
    public ImmutableArray<HuggingFaceSegment> Segments { get; }
}
