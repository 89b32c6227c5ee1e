namespace Microsoft.ML.Mask2Former.Formats;

/// <summary>The PNG colour types (the <c>IHDR</c> colour-type byte), named as the PNG specification names them.</summary>
public enum PngColorType
{
    /// <summary>One grey sample per pixel (bit depth 1, 2, 4, 8 or 16); Pillow mode <c>L</c> (or <c>1</c>, <c>I;16</c>).</summary>
    Grayscale = 0,

    /// <summary>Red, green and blue samples (bit depth 8 or 16); Pillow mode <c>RGB</c>.</summary>
    Rgb = 2,

    /// <summary>One index into the <c>PLTE</c> palette per pixel (bit depth 1, 2, 4 or 8); Pillow mode <c>P</c>.</summary>
    Palette = 3,

    /// <summary>Grey and alpha samples (bit depth 8 or 16); Pillow mode <c>LA</c>.</summary>
    GrayscaleAlpha = 4,

    /// <summary>Red, green, blue and alpha samples (bit depth 8 or 16); Pillow mode <c>RGBA</c>.</summary>
    Rgba = 6,
}
