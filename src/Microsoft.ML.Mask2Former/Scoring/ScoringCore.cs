using Microsoft.ML.Mask2Former.PostProcessing;

namespace Microsoft.ML.Mask2Former.Scoring;

/// <summary>The steps shared by the ML.NET pipeline and <see cref="Mask2FormerPredictor"/>.</summary>
internal static class ScoringCore
{
    /// <summary>
    /// Letterboxes interleaved RGB into a fixed [3, H, W] normalised tensor; returns where the image sits.
    /// </summary>
    public static ImageGeometry Letterbox(ReadOnlySpan<byte> rgb, int height, int width, ScoringSettings settings, Span<float> destination) =>
        ImagePreprocessor.Letterbox(rgb, height, width, settings.InputHeight, settings.InputWidth, settings.Mean, settings.Std, destination);

    /// <summary>The geometry of an image of the given size letterboxed into the settings' input.</summary>
    public static ImageGeometry LetterboxGeometry(int height, int width, ScoringSettings settings)
    {
        var (h, w) = ImagePreprocessor.LetterboxSize(height, width, settings.InputHeight, settings.InputWidth);
        return new ImageGeometry(settings.InputHeight, settings.InputWidth, h, w, height, width);
    }

    /// <summary>Wraps one image's logits, checking their lengths against the settings and the padded input size.</summary>
    public static Mask2FormerLogits Logits(ReadOnlySpan<float> classLogits, ReadOnlySpan<float> maskLogits, ScoringSettings settings, int paddedHeight, int paddedWidth)
    {
        var k = settings.NumClasses;
        if (classLogits.Length == 0 || classLogits.Length % (k + 1) != 0)
            throw new InvalidOperationException($"class_queries_logits holds {classLogits.Length} values, not a multiple of K + 1 = {k + 1} (the label set has {k} classes).");
        var q = classLogits.Length / (k + 1);
        int mh = settings.MaskHeight, mw = settings.MaskWidth;
        if (mh == 0 || mw == 0)
        {
            mh = (paddedHeight + 3) / 4;
            mw = (paddedWidth + 3) / 4;
        }
        if (maskLogits.Length != (long)q * mh * mw)
            throw new InvalidOperationException($"masks_queries_logits holds {maskLogits.Length} values; [Q={q}, {mh}, {mw}] = {(long)q * mh * mw} expected for a {paddedHeight}×{paddedWidth} input.");
        return new Mask2FormerLogits(classLogits, maskLogits, q, k, mh, mw);
    }
}
