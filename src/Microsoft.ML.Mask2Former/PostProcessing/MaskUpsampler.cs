namespace Microsoft.ML.Mask2Former.PostProcessing;

/// <summary>
/// detectron2's two separate bilinear resizes of one query's mask logits: 4× up to the padded
/// input size, then (optionally) a crop to the image and a resize to the output size.
/// </summary>
internal sealed class MaskUpsampler : IPlaneResizer
{
    private readonly int _maskHeight, _maskWidth;
    private readonly ImageGeometry _geometry;
    private readonly BilinearTaps _toPadded;
    private readonly BilinearTaps? _toOutput;
    private readonly float[] _padded;

    public MaskUpsampler(int maskHeight, int maskWidth, ImageGeometry geometry, bool toOutput)
    {
        _maskHeight = maskHeight;
        _maskWidth = maskWidth;
        _geometry = geometry;
        _toPadded = new BilinearTaps(maskHeight, maskWidth, geometry.PaddedHeight, geometry.PaddedWidth);
        _padded = new float[geometry.PaddedHeight * geometry.PaddedWidth];
        if (toOutput)
        {
            _toOutput = new BilinearTaps(geometry.ImageHeight, geometry.ImageWidth, geometry.OutputHeight, geometry.OutputWidth);
            Height = geometry.OutputHeight;
            Width = geometry.OutputWidth;
        }
        else
        {
            Height = geometry.PaddedHeight;
            Width = geometry.PaddedWidth;
        }
    }

    public int Height { get; }

    public int Width { get; }

    public int PixelCount => Height * Width;

    /// <summary>Writes the plane (<see cref="Height"/> × <see cref="Width"/>) of <paramref name="logits"/> to <paramref name="destination"/>.</summary>
    public void Upsample(ReadOnlySpan<float> logits, Span<float> destination)
    {
        var g = _geometry;
        if (_toOutput is null)
        {
            TorchFloat.ResizeBilinear(logits, _maskHeight, _maskWidth, _maskWidth, destination, g.PaddedHeight, g.PaddedWidth, _toPadded);
            return;
        }
        TorchFloat.ResizeBilinear(logits, _maskHeight, _maskWidth, _maskWidth, _padded, g.PaddedHeight, g.PaddedWidth, _toPadded);
        TorchFloat.ResizeBilinear(_padded, g.ImageHeight, g.ImageWidth, g.PaddedWidth, destination, g.OutputHeight, g.OutputWidth, _toOutput);
    }

    /// <summary>Crop of a padded-size plane to the image, resized to the output size.</summary>
    public static void CropResize(ReadOnlySpan<float> padded, ImageGeometry g, Span<float> destination, BilinearTaps taps) =>
        TorchFloat.ResizeBilinear(padded, g.ImageHeight, g.ImageWidth, g.PaddedWidth, destination, g.OutputHeight, g.OutputWidth, taps);
}

/// <summary>Resizes one query's mask logits to the size post-processing works at.</summary>
internal interface IPlaneResizer
{
    int Height { get; }

    int Width { get; }

    int PixelCount { get; }

    void Upsample(ReadOnlySpan<float> logits, Span<float> destination);
}
