namespace Microsoft.ML.Mask2Former.Synthetic;

/// <summary>Settings of <see cref="SyntheticPanopticDataset.Generate"/>.</summary>
public sealed class SyntheticPanopticOptions
{
    /// <summary>The number of images (1 to 100,000). Default 16.</summary>
    public int ImageCount { get; init; } = 16;

    /// <summary>Image width in pixels (16 to 4096). Default 128.</summary>
    public int Width { get; init; } = 128;

    /// <summary>Image height in pixels (16 to 4096). Default 128.</summary>
    public int Height { get; init; } = 128;

    /// <summary>The seed: the same seed and settings give byte-identical files. Default 0.</summary>
    public int Seed { get; init; }

    /// <summary>
    /// The most shapes (things) per image (0 to 1,000); each image gets between 1 and this many
    /// (none when 0), fewer when a shape finds no place that leaves the others half visible. Default 5.
    /// </summary>
    public int MaxThingsPerImage { get; init; } = 5;

    internal void Validate()
    {
        if (ImageCount is < 1 or > 100_000) throw new ArgumentException($"{nameof(ImageCount)} must be in 1..100000, got {ImageCount}");
        if (Width is < 16 or > 4096) throw new ArgumentException($"{nameof(Width)} must be in 16..4096, got {Width}");
        if (Height is < 16 or > 4096) throw new ArgumentException($"{nameof(Height)} must be in 16..4096, got {Height}");
        if (MaxThingsPerImage is < 0 or > 1000) throw new ArgumentException($"{nameof(MaxThingsPerImage)} must be in 0..1000, got {MaxThingsPerImage}");
    }
}
