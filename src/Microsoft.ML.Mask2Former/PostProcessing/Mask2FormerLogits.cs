using Microsoft.ML.Mask2Former.ReferenceArithmetic;

namespace Microsoft.ML.Mask2Former.PostProcessing;

/// <summary>
/// The two outputs of a Mask2Former model for one image, as spans over row-major float32 data:
/// class logits <c>[Q, K+1]</c> (logit K is "no object") and mask logits <c>[Q, h, w]</c> at the
/// mask resolution (a quarter of the padded model input). Shapes are checked on construction.
/// </summary>
public readonly ref struct Mask2FormerLogits
{
    /// <summary>Wraps the logits of one image.</summary>
    /// <param name="classLogits">Class logits, <c>[numQueries, numClasses + 1]</c> row-major.</param>
    /// <param name="maskLogits">Mask logits, <c>[numQueries, maskHeight, maskWidth]</c> row-major.</param>
    /// <param name="numQueries">Q, the number of queries (at least 1).</param>
    /// <param name="numClasses">K, the number of classes without "no object" (at least 1).</param>
    /// <param name="maskHeight">Height of the mask logits (at least 1).</param>
    /// <param name="maskWidth">Width of the mask logits (at least 1).</param>
    /// <exception cref="ArgumentException">A dimension is not positive or a span's length disagrees with the dimensions; the message gives the expected shape and the length found.</exception>
    public Mask2FormerLogits(ReadOnlySpan<float> classLogits, ReadOnlySpan<float> maskLogits, int numQueries, int numClasses, int maskHeight, int maskWidth)
    {
        if (numQueries < 1) throw new ArgumentException($"numQueries must be at least 1; found {numQueries}.", nameof(numQueries));
        if (numClasses < 1) throw new ArgumentException($"numClasses (without \"no object\") must be at least 1; found {numClasses}.", nameof(numClasses));
        if (maskHeight < 1 || maskWidth < 1)
            throw new ArgumentException($"mask logits must be at least 1×1; found {maskHeight}×{maskWidth}.", maskHeight < 1 ? nameof(maskHeight) : nameof(maskWidth));
        var expectedClass = (long)numQueries * (numClasses + 1);
        if (classLogits.Length != expectedClass)
            throw new ArgumentException($"class logits must be [Q={numQueries}, K+1={numClasses + 1}] = {expectedClass} floats; found {classLogits.Length}.", nameof(classLogits));
        var expectedMask = (long)numQueries * maskHeight * maskWidth;
        if (maskLogits.Length != expectedMask)
            throw new ArgumentException($"mask logits must be [Q={numQueries}, {maskHeight}, {maskWidth}] = {expectedMask} floats; found {maskLogits.Length}.", nameof(maskLogits));
        ClassLogits = classLogits;
        MaskLogits = maskLogits;
        NumQueries = numQueries;
        NumClasses = numClasses;
        MaskHeight = maskHeight;
        MaskWidth = maskWidth;
    }

    /// <summary>Class logits, <c>[Q, K+1]</c>.</summary>
    public ReadOnlySpan<float> ClassLogits { get; }

    /// <summary>Mask logits, <c>[Q, h, w]</c>.</summary>
    public ReadOnlySpan<float> MaskLogits { get; }

    /// <summary>Q, the number of queries.</summary>
    public int NumQueries { get; }

    /// <summary>K, the number of classes (the "no object" logit excluded).</summary>
    public int NumClasses { get; }

    /// <summary>Height of the mask logits.</summary>
    public int MaskHeight { get; }

    /// <summary>Width of the mask logits.</summary>
    public int MaskWidth { get; }

    internal ReadOnlySpan<float> Mask(int query) => MaskLogits.Slice(query * MaskHeight * MaskWidth, MaskHeight * MaskWidth);

    /// <summary>Softmax over K+1 of every query, <c>[Q, K+1]</c>.</summary>
    internal float[] ClassProbabilities()
    {
        var width = NumClasses + 1;
        var probabilities = new float[NumQueries * width];
        for (var q = 0; q < NumQueries; q++)
            TorchFloat.Softmax(ClassLogits.Slice(q * width, width), probabilities.AsSpan(q * width, width));
        return probabilities;
    }
}
