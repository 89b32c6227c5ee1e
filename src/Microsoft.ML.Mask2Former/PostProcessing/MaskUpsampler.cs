using System.Buffers;
using Microsoft.ML.Mask2Former.ReferenceArithmetic;

namespace Microsoft.ML.Mask2Former.PostProcessing;

/// <summary>
/// detectron2's two separate bilinear resizes of one query's mask logits: 4× up to the padded
/// input size, then (optionally) a crop to the image and a resize to the output size. Rows can be
/// produced in bands, each computing only the source rows it needs, so bands run in parallel.
/// </summary>
internal sealed class MaskUpsampler : IPlaneResizer
{
    private readonly int _maskHeight, _maskWidth;
    private readonly ImageGeometry _geometry;
    private readonly BilinearTaps _toPadded;
    private readonly BilinearTaps? _toOutput;

    public MaskUpsampler(int maskHeight, int maskWidth, ImageGeometry geometry, bool toOutput)
    {
        _maskHeight = maskHeight;
        _maskWidth = maskWidth;
        _geometry = geometry;
        _toPadded = new BilinearTaps(maskHeight, maskWidth, geometry.PaddedHeight, geometry.PaddedWidth);
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
    public void Upsample(ReadOnlySpan<float> logits, Span<float> destination) => UpsampleRows(logits, 0, Height, destination);

    /// <summary>Writes rows [<paramref name="rowStart"/>, <paramref name="rowEnd"/>) of the plane to the start of <paramref name="destination"/>.</summary>
    public void UpsampleRows(ReadOnlySpan<float> logits, int rowStart, int rowEnd, Span<float> destination)
    {
        if (rowEnd <= rowStart) return;
        if (_toOutput is null)
        {
            TorchFloat.ResizeBilinearRows(logits, 0, _maskWidth, _maskWidth, destination, rowStart, rowEnd, Width, _toPadded);
            return;
        }
        // The padded-size rows (cropped to the image width) that the output rows read.
        var first = _toOutput.Y0[rowStart];
        var last = Math.Max(_toOutput.Y0[rowEnd - 1], _toOutput.Y1[rowEnd - 1]);
        var imageWidth = _geometry.ImageWidth;
        var buffer = ArrayPool<float>.Shared.Rent((last - first + 1) * imageWidth);
        try
        {
            var padded = buffer.AsSpan(0, (last - first + 1) * imageWidth);
            TorchFloat.ResizeBilinearRows(logits, 0, _maskWidth, _maskWidth, padded, first, last + 1, imageWidth, _toPadded);
            TorchFloat.ResizeBilinearRows(padded, first, imageWidth, imageWidth, destination, rowStart, rowEnd, Width, _toOutput);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(buffer);
        }
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

    /// <summary>Rows [<paramref name="rowStart"/>, <paramref name="rowEnd"/>) of the plane, written to the start of <paramref name="destination"/>.</summary>
    void UpsampleRows(ReadOnlySpan<float> logits, int rowStart, int rowEnd, Span<float> destination);
}
