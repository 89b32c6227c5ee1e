namespace Microsoft.ML.Mask2Former.Rendering;

/// <summary>How <see cref="SegmentationOverlay"/> draws.</summary>
public sealed class OverlayOptions
{
    /// <summary>Opacity of the category colour over the image, 0..1. Default 0.55.</summary>
    public float Opacity { get; init; } = 0.55f;

    /// <summary>Draw a line where the segment id changes. Default true.</summary>
    public bool DrawBoundaries { get; init; } = true;

    /// <summary>Draw each segment's caption (and score) at a point inside it. Default true.</summary>
    public bool DrawLabels { get; init; } = true;

    /// <summary>
    /// Text height in pixels; 0 (default) picks one from the image size (about 2.2 % of the
    /// shorter side, at least 11).
    /// </summary>
    public float TextSize { get; init; }

    /// <summary>
    /// Magnification (1 to 16) applied before drawing: the image is enlarged smoothly and the map
    /// by pixel replication, so small images (thumbnails, 128-pixel training images) get legible
    /// captions and visible boundaries. Default 1.
    /// </summary>
    public int Scale { get; init; } = 1;

    /// <summary>Segments smaller than this many pixels (before <see cref="Scale"/>) get no caption (their colour and boundary still show). Default 64.</summary>
    public int MinLabelArea { get; init; } = 64;
}
