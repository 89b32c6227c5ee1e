namespace Microsoft.ML.Mask2Former.Training.Data;

/// <summary>
/// One decoded training image at its original size: RGB pixels, the panoptic segment-id map and
/// the segments the loss learns (crowd segments and void left out).
/// </summary>
public sealed class PanopticTrainingImage
{
    internal PanopticTrainingImage(string imageId, int width, int height, byte[] rgb, uint[] segmentIds, int[] segmentIndex, int[] labels)
    {
        ImageId = imageId;
        Width = width;
        Height = height;
        Rgb = rgb;
        SegmentIds = segmentIds;
        SegmentIndex = segmentIndex;
        Labels = labels;
    }

    /// <summary>The COCO image id.</summary>
    public string ImageId { get; }

    /// <summary>The width in pixels.</summary>
    public int Width { get; }

    /// <summary>The height in pixels.</summary>
    public int Height { get; }

    /// <summary>Interleaved 8-bit RGB, row-major (<c>3 · Width · Height</c> bytes).</summary>
    public byte[] Rgb { get; }

    /// <summary>The panoptic PNG's segment ids (<c>R + 256·G + 256²·B</c>, 0 = void), row-major.</summary>
    public uint[] SegmentIds { get; }

    /// <summary>Per pixel, the index into <see cref="Labels"/> of its segment, or −1 (void, crowd).</summary>
    public int[] SegmentIndex { get; }

    /// <summary>The class index (0 … K−1 in the model's label set) of each trained segment.</summary>
    public int[] Labels { get; }
}
