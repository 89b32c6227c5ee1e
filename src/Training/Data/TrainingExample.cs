namespace Microsoft.ML.Mask2Former.Training.Data;

/// <summary>One augmented, normalised training example in managed memory (built on loader threads).</summary>
internal sealed class TrainingExample
{
    public TrainingExample(string imageId, int height, int width, float[] pixels, int[] segmentIndex, int[] labels)
    {
        ImageId = imageId;
        Height = height;
        Width = width;
        Pixels = pixels;
        SegmentIndex = segmentIndex;
        Labels = labels;
    }

    public string ImageId { get; }

    public int Height { get; }

    public int Width { get; }

    /// <summary>Normalised channels, [3, Height, Width].</summary>
    public float[] Pixels { get; }

    /// <summary>Per pixel, the index into <see cref="Labels"/> or −1.</summary>
    public int[] SegmentIndex { get; }

    /// <summary>The class of each segment present in the example (segments the crop removed are gone).</summary>
    public int[] Labels { get; }
}
