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

    /// <summary>
    /// When <see langword="true"/>, every shape class is drawn in its own colour (so colour alone
    /// tells the classes apart, which a small network learns in minutes); when <see langword="false"/>
    /// (default) colours are drawn at random and only the outline tells the class.
    /// </summary>
    public bool ColourByCategory { get; init; }

    /// <summary>Smallest shape size as a fraction of the shorter image side (0.02 to 1). Default 0.08.</summary>
    public double MinThingSize { get; init; } = 0.08;

    /// <summary>Largest shape size as a fraction of the shorter image side (at least <see cref="MinThingSize"/>, at most 1). Default 0.22.</summary>
    public double MaxThingSize { get; init; } = 0.22;

    internal void Validate()
    {
        if (MinThingSize is < 0.02 or > 1 || MaxThingSize < MinThingSize || MaxThingSize > 1)
            throw new ArgumentException($"thing sizes must satisfy 0.02 <= {nameof(MinThingSize)} <= {nameof(MaxThingSize)} <= 1, got {MinThingSize} and {MaxThingSize}");
        if (ImageCount is < 1 or > 100_000) throw new ArgumentException($"{nameof(ImageCount)} must be in 1..100000, got {ImageCount}");
        if (Width is < 16 or > 4096) throw new ArgumentException($"{nameof(Width)} must be in 16..4096, got {Width}");
        if (Height is < 16 or > 4096) throw new ArgumentException($"{nameof(Height)} must be in 16..4096, got {Height}");
        if (MaxThingsPerImage is < 0 or > 1000) throw new ArgumentException($"{nameof(MaxThingsPerImage)} must be in 0..1000, got {MaxThingsPerImage}");
    }
}
