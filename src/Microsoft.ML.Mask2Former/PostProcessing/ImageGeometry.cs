namespace Microsoft.ML.Mask2Former.PostProcessing;

/// <summary>
/// Where one image sits in the model input and what size its result should have, as detectron2's
/// Mask2Former sees it: the batch is padded at the bottom and right to
/// (<see cref="PaddedHeight"/>, <see cref="PaddedWidth"/>); the image occupies the top-left
/// (<see cref="ImageHeight"/>, <see cref="ImageWidth"/>); results are produced at
/// (<see cref="OutputHeight"/>, <see cref="OutputWidth"/>), usually the original image size.
/// </summary>
public readonly record struct ImageGeometry
{
    /// <summary>Describes one image.</summary>
    /// <exception cref="ArgumentException">A size is not positive or the image is larger than the padded input.</exception>
    public ImageGeometry(int paddedHeight, int paddedWidth, int imageHeight, int imageWidth, int outputHeight, int outputWidth)
    {
        if (paddedHeight < 1 || paddedWidth < 1) throw new ArgumentException($"The padded input size must be positive; found {paddedHeight}×{paddedWidth}.");
        if (imageHeight < 1 || imageWidth < 1) throw new ArgumentException($"The image size must be positive; found {imageHeight}×{imageWidth}.");
        if (outputHeight < 1 || outputWidth < 1) throw new ArgumentException($"The output size must be positive; found {outputHeight}×{outputWidth}.");
        if (imageHeight > paddedHeight || imageWidth > paddedWidth)
            throw new ArgumentException($"The image ({imageHeight}×{imageWidth}) must fit inside the padded input ({paddedHeight}×{paddedWidth}).");
        PaddedHeight = paddedHeight;
        PaddedWidth = paddedWidth;
        ImageHeight = imageHeight;
        ImageWidth = imageWidth;
        OutputHeight = outputHeight;
        OutputWidth = outputWidth;
    }

    /// <summary>An unpadded image whose result has the input's own size.</summary>
    public static ImageGeometry Unpadded(int height, int width) => new(height, width, height, width, height, width);

    /// <summary>Height of the padded model input.</summary>
    public int PaddedHeight { get; }

    /// <summary>Width of the padded model input.</summary>
    public int PaddedWidth { get; }

    /// <summary>Height of the image inside the padded input (detectron2 <c>image_size[0]</c>).</summary>
    public int ImageHeight { get; }

    /// <summary>Width of the image inside the padded input (detectron2 <c>image_size[1]</c>).</summary>
    public int ImageWidth { get; }

    /// <summary>Height of the results (detectron2 <c>height</c>).</summary>
    public int OutputHeight { get; }

    /// <summary>Width of the results (detectron2 <c>width</c>).</summary>
    public int OutputWidth { get; }
}
