using Microsoft.ML.Mask2Former.PostProcessing;

namespace Microsoft.ML.Mask2Former.Scoring;

/// <summary>
/// Image → model input: RGB read from an <c>MLImage</c>, resized with an antialiased bilinear
/// (triangle) filter, normalised with per-channel mean/std on values scaled to [0, 1] and placed
/// at the top-left of a zero (in normalised units, as detectron2's <c>ImageList</c> pads) CHW tensor.
/// The one resize of the library: the ML.NET pipeline, <see cref="Mask2FormerPredictor"/> and the
/// trainer's validation all go through it.
/// </summary>
internal static class ImagePreprocessor
{
    /// <summary>
    /// Letterboxes interleaved RGB into a fixed [3, <paramref name="inputHeight"/>, <paramref name="inputWidth"/>]
    /// normalised tensor (aspect kept, image at the top-left, zero padding); returns where the image sits.
    /// </summary>
    public static ImageGeometry Letterbox(ReadOnlySpan<byte> rgb, int height, int width, int inputHeight, int inputWidth,
        ReadOnlySpan<double> mean, ReadOnlySpan<double> std, Span<float> destination)
    {
        var (h, w) = LetterboxSize(height, width, inputHeight, inputWidth);
        ResizeNormalize(rgb, height, width, h, w, destination, inputHeight, inputWidth, mean, std);
        return new ImageGeometry(inputHeight, inputWidth, h, w, height, width);
    }

    /// <summary>Interleaved RGB bytes (h·w·3) of an image in either of MLImage's pixel formats.</summary>
    public static byte[] ReadRgb(Microsoft.ML.Data.MLImage image)
    {
        if (image.BitsPerPixel != 32)
            throw new InvalidOperationException($"the image has {image.BitsPerPixel} bits per pixel; expected 32 (RGBA or BGRA).");
        var pixels = image.Pixels;
        var count = (long)image.Width * image.Height;
        if (pixels.Length < count * 4) throw new InvalidOperationException($"the image holds {pixels.Length} bytes for {image.Width}×{image.Height} pixels.");
        var rgb = new byte[count * 3];
        var bgra = image.PixelFormat == Microsoft.ML.Data.MLPixelFormat.Bgra32;
        if (!bgra && image.PixelFormat != Microsoft.ML.Data.MLPixelFormat.Rgba32)
            throw new InvalidOperationException($"unsupported pixel format {image.PixelFormat}.");
        int r = bgra ? 2 : 0, b = bgra ? 0 : 2;
        for (long p = 0; p < count; p++)
        {
            var s = pixels.Slice((int)(p * 4), 4);
            rgb[p * 3] = s[r];
            rgb[p * 3 + 1] = s[1];
            rgb[p * 3 + 2] = s[b];
        }
        return rgb;
    }

    /// <summary>The size an h×w image takes inside a fixed H×W input, aspect kept (letterbox; the rest is padding at the bottom/right).</summary>
    public static (int Height, int Width) LetterboxSize(int height, int width, int inputHeight, int inputWidth)
    {
        var scale = Math.Min((double)inputHeight / height, (double)inputWidth / width);
        var h = (int)Math.Round(height * scale, MidpointRounding.AwayFromZero);
        var w = (int)Math.Round(width * scale, MidpointRounding.AwayFromZero);
        return (Math.Clamp(h, 1, inputHeight), Math.Clamp(w, 1, inputWidth));
    }

    /// <summary>detectron2's <c>ResizeShortestEdge</c> target: the shorter side to <paramref name="shortestEdge"/>, the longer at most <paramref name="maxSize"/>.</summary>
    public static (int Height, int Width) ShortestEdgeSize(int height, int width, int shortestEdge, int maxSize)
    {
        double scale = (double)shortestEdge / Math.Min(height, width);
        double h, w;
        if (height < width) (h, w) = (shortestEdge, scale * width);
        else (h, w) = (scale * height, shortestEdge);
        if (Math.Max(h, w) > maxSize)
        {
            var shrink = maxSize / Math.Max(h, w);
            h *= shrink;
            w *= shrink;
        }
        return (Math.Max(1, (int)(h + 0.5)), Math.Max(1, (int)(w + 0.5)));
    }

    /// <summary>Rounds up to a multiple of <paramref name="divisor"/>.</summary>
    public static int PadTo(int size, int divisor) => divisor <= 1 ? size : (size + divisor - 1) / divisor * divisor;

    /// <summary>
    /// Resizes interleaved RGB (<paramref name="height"/>×<paramref name="width"/>) to
    /// <paramref name="resizedHeight"/>×<paramref name="resizedWidth"/>, normalises it and writes it
    /// CHW into the top-left of <paramref name="destination"/> ([3, inputHeight, inputWidth]); the
    /// rest is set to 0.
    /// </summary>
    public static void ResizeNormalize(ReadOnlySpan<byte> rgb, int height, int width, int resizedHeight, int resizedWidth,
        Span<float> destination, int inputHeight, int inputWidth, ReadOnlySpan<double> mean, ReadOnlySpan<double> std)
    {
        if (resizedHeight > inputHeight || resizedWidth > inputWidth)
            throw new ArgumentException($"the resized image ({resizedHeight}×{resizedWidth}) must fit the input ({inputHeight}×{inputWidth}).");
        ResizeCropNormalize(rgb, height, width, resizedHeight, resizedWidth, 0, 0, false, destination, inputHeight, inputWidth, mean, std);
    }

    /// <summary>
    /// Resizes interleaved RGB (<paramref name="height"/>×<paramref name="width"/>, mirrored left to
    /// right first when <paramref name="flip"/>) to <paramref name="resizedHeight"/>×<paramref name="resizedWidth"/>
    /// and writes the window starting at (<paramref name="top"/>, <paramref name="left"/>) of the
    /// result, normalised, CHW into <paramref name="destination"/> ([3, outputHeight, outputWidth]);
    /// output pixels outside the resized image are 0. Only the window is computed, so a crop of a
    /// large enlargement costs what the crop costs.
    /// </summary>
    public static void ResizeCropNormalize(ReadOnlySpan<byte> rgb, int height, int width, int resizedHeight, int resizedWidth, int top, int left, bool flip,
        Span<float> destination, int outputHeight, int outputWidth, ReadOnlySpan<double> mean, ReadOnlySpan<double> std)
    {
        if (rgb.Length != (long)height * width * 3)
            throw new ArgumentException($"the RGB buffer has {rgb.Length} bytes; {height}×{width}×3 = {(long)height * width * 3} expected.");
        if (top < 0 || left < 0 || top >= resizedHeight || left >= resizedWidth)
            throw new ArgumentException($"the window origin ({top}, {left}) must lie inside the resized image ({resizedHeight}×{resizedWidth}).");
        var plane = outputHeight * outputWidth;
        if (destination.Length != 3 * plane)
            throw new ArgumentException($"the destination holds {destination.Length} floats; 3×{outputHeight}×{outputWidth} expected.");
        destination.Clear();
        var validH = Math.Min(outputHeight, resizedHeight - top);
        var validW = Math.Min(outputWidth, resizedWidth - left);

        var columns = Weights.Create(width, resizedWidth);
        var rows = Weights.Create(height, resizedHeight);

        // Horizontal pass over the source rows the window reads: [rows, validW, 3].
        int firstRow = int.MaxValue, lastRow = 0;
        for (var y = top; y < top + validH; y++)
        {
            firstRow = Math.Min(firstRow, rows.Start[y]);
            lastRow = Math.Max(lastRow, rows.Start[y] + rows.Taps(y).Length);
        }
        var horizontal = new float[(long)(lastRow - firstRow) * validW * 3];
        for (var y = firstRow; y < lastRow; y++)
        {
            var src = rgb.Slice(y * width * 3, width * 3);
            var dst = horizontal.AsSpan((y - firstRow) * validW * 3, validW * 3);
            for (var x = 0; x < validW; x++)
            {
                var start = columns.Start[x + left];
                var taps = columns.Taps(x + left);
                float r = 0, g = 0, b = 0;
                for (var t = 0; t < taps.Length; t++)
                {
                    var k = taps[t];
                    var s = (flip ? width - 1 - (start + t) : start + t) * 3;
                    r += k * src[s];
                    g += k * src[s + 1];
                    b += k * src[s + 2];
                }
                dst[x * 3] = r;
                dst[x * 3 + 1] = g;
                dst[x * 3 + 2] = b;
            }
        }

        Span<float> scale = stackalloc float[3];
        Span<float> offset = stackalloc float[3];
        for (var c = 0; c < 3; c++)
        {
            // (v / 255 − mean) / std = v · scale − offset
            scale[c] = (float)(1.0 / (255.0 * std[c]));
            offset[c] = (float)(mean[c] / std[c]);
        }
        for (var y = 0; y < validH; y++)
        {
            var start = rows.Start[y + top] - firstRow;
            var taps = rows.Taps(y + top);
            for (var x = 0; x < validW; x++)
            {
                float r = 0, g = 0, b = 0;
                for (var t = 0; t < taps.Length; t++)
                {
                    var k = taps[t];
                    var s = ((start + t) * validW + x) * 3;
                    r += k * horizontal[s];
                    g += k * horizontal[s + 1];
                    b += k * horizontal[s + 2];
                }
                var p = y * outputWidth + x;
                destination[p] = Math.Clamp(r, 0f, 255f) * scale[0] - offset[0];
                destination[plane + p] = Math.Clamp(g, 0f, 255f) * scale[1] - offset[1];
                destination[2 * plane + p] = Math.Clamp(b, 0f, 255f) * scale[2] - offset[2];
            }
        }
    }

    /// <summary>
    /// Per output index: the first source index and normalised triangle-filter weights. The filter
    /// widens with the downscale factor so every source pixel contributes (antialiasing); for an
    /// unchanged size it is the identity.
    /// </summary>
    private sealed class Weights
    {
        public required int[] Start { get; init; }
        public required int[] Offset { get; init; }
        public required float[] Values { get; init; }

        public ReadOnlySpan<float> Taps(int i) => Values.AsSpan(Offset[i], Offset[i + 1] - Offset[i]);

        public static Weights Create(int inSize, int outSize)
        {
            var scale = (double)inSize / outSize;
            var widen = Math.Max(scale, 1.0);
            var support = widen;
            var start = new int[outSize];
            var offset = new int[outSize + 1];
            var values = new List<float>(outSize * ((int)Math.Ceiling(support) * 2 + 1));
            for (var i = 0; i < outSize; i++)
            {
                var center = (i + 0.5) * scale;
                var lo = Math.Max(0, (int)Math.Floor(center - support + 0.5));
                var hi = Math.Min(inSize, (int)Math.Floor(center + support + 0.5));
                if (hi <= lo) hi = Math.Min(inSize, lo + 1);
                var first = values.Count;
                double sum = 0;
                for (var j = lo; j < hi; j++)
                {
                    var d = Math.Abs((j + 0.5 - center) / widen);
                    var wgt = d < 1 ? 1 - d : 0;
                    values.Add((float)wgt);
                    sum += wgt;
                }
                if (sum <= 0)
                {
                    // The nearest source pixel when the window holds no positive weight.
                    values.RemoveRange(first, values.Count - first);
                    lo = Math.Clamp((int)center, 0, inSize - 1);
                    hi = lo + 1;
                    values.Add(1f);
                    sum = 1;
                }
                else
                    for (var j = first; j < values.Count; j++) values[j] = (float)(values[j] / sum);
                start[i] = lo;
                offset[i + 1] = values.Count;
            }
            return new Weights { Start = start, Offset = offset, Values = [.. values] };
        }
    }
}
