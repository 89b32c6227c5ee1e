namespace Microsoft.ML.Mask2Former.Training.Modeling.VitAdapter;

/// <summary>
/// Token map sizes of one input to the adapter: the ViT grid at stride 16 and the spatial prior's
/// three token levels at strides 8, 16 and 32 (the adapter's <c>c2</c>, <c>c3</c>, <c>c4</c>), which
/// are exactly 2×, 1× and ½× the grid because inputs are a multiple of 32.
/// </summary>
internal readonly record struct AdapterGrid(long Height, long Width)
{
    /// <summary>The grid of an input of <paramref name="height"/>×<paramref name="width"/> pixels.</summary>
    public static AdapterGrid Of(long height, long width) => new(height / 16, width / 16);

    /// <summary>The ViT tokens' map, the one level the extractors sample.</summary>
    public IReadOnlyList<(long Height, long Width)> VitLevel => new[] { (Height, Width) };

    /// <summary>The prior's levels c2, c3, c4 (strides 8, 16, 32), the three the injectors sample.</summary>
    public IReadOnlyList<(long Height, long Width)> PriorLevels => new[] { (2 * Height, 2 * Width), (Height, Width), (Height / 2, Width / 2) };

    /// <summary>Tokens in each prior level.</summary>
    public long[] PriorCounts => PriorLevels.Select(s => s.Height * s.Width).ToArray();
}
