namespace Microsoft.ML.Mask2Former.PostProcessing;

/// <summary>
/// The smallest axis-aligned box of pixels holding a mask: left <see cref="X"/>, top <see cref="Y"/>
/// and the exclusive <see cref="Right"/>/<see cref="Bottom"/> (detectron2's
/// <c>BitMasks.get_bounding_boxes</c> convention: <c>[x_min, y_min, x_max + 1, y_max + 1]</c>).
/// All zero for an empty mask.
/// </summary>
/// <param name="X">Leftmost column.</param>
/// <param name="Y">Topmost row.</param>
/// <param name="Width">Columns spanned.</param>
/// <param name="Height">Rows spanned.</param>
public readonly record struct PixelBox(int X, int Y, int Width, int Height)
{
    /// <summary>One past the rightmost column.</summary>
    public int Right => X + Width;

    /// <summary>One past the bottom row.</summary>
    public int Bottom => Y + Height;

    /// <summary>Whether the box holds no pixel.</summary>
    public bool IsEmpty => Width == 0 || Height == 0;

    internal static PixelBox FromBounds(int minX, int minY, int maxX, int maxY) =>
        maxX < minX ? default : new PixelBox(minX, minY, maxX - minX + 1, maxY - minY + 1);
}
