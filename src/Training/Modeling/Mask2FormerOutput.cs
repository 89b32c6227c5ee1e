namespace Microsoft.ML.Mask2Former.Training.Modeling;

/// <summary>
/// The outputs of <see cref="Mask2FormerForUniversalSegmentation"/>, named as Hugging Face names
/// them. The caller owns every tensor: dispose the output (or take tensors out of it with
/// <c>MoveToOuterDisposeScope</c> / <c>DetachFromDisposeScope</c> before a scope ends).
/// </summary>
public sealed class Mask2FormerOutput : IDisposable
{
    internal Mask2FormerOutput(Tensor classQueriesLogits, Tensor masksQueriesLogits, IReadOnlyList<(Tensor Class, Tensor Masks)> auxiliary,
        IReadOnlyList<Tensor> encoderHiddenStates, IReadOnlyList<Tensor> pixelDecoderHiddenStates, Tensor pixelDecoderLastHiddenState,
        IReadOnlyList<Tensor> transformerDecoderHiddenStates, Tensor transformerDecoderLastHiddenState, IReadOnlyList<Tensor> pixelDecoderEncoderLayers)
    {
        ClassQueriesLogits = classQueriesLogits;
        MasksQueriesLogits = masksQueriesLogits;
        AuxiliaryLogits = auxiliary;
        EncoderHiddenStates = encoderHiddenStates;
        PixelDecoderHiddenStates = pixelDecoderHiddenStates;
        PixelDecoderLastHiddenState = pixelDecoderLastHiddenState;
        TransformerDecoderHiddenStates = transformerDecoderHiddenStates;
        TransformerDecoderLastHiddenState = transformerDecoderLastHiddenState;
        PixelDecoderEncoderLayers = pixelDecoderEncoderLayers;
    }

    /// <summary>Class logits [B, Q, K + 1] of the last layer (last class = "no object").</summary>
    public Tensor ClassQueriesLogits { get; }

    /// <summary>Mask logits [B, Q, H/4, W/4] of the last layer.</summary>
    public Tensor MasksQueriesLogits { get; }

    /// <summary>The predictions before the last one (from the query features, then after each layer but the last), for deep supervision.</summary>
    public IReadOnlyList<(Tensor Class, Tensor Masks)> AuxiliaryLogits { get; }

    /// <summary>Backbone feature maps [B, C_i, H/s, W/s], strides 4, 8, 16, 32.</summary>
    public IReadOnlyList<Tensor> EncoderHiddenStates { get; }

    /// <summary>Pixel decoder multi-scale maps [B, C, h, w], strides 32, 16, 8.</summary>
    public IReadOnlyList<Tensor> PixelDecoderHiddenStates { get; }

    /// <summary>Mask features [B, C_mask, H/4, W/4].</summary>
    public Tensor PixelDecoderLastHiddenState { get; }

    /// <summary>Decoder query states [Q, B, C] (sequence first) before the first layer and after each layer.</summary>
    public IReadOnlyList<Tensor> TransformerDecoderHiddenStates { get; }

    /// <summary>The last decoder query states [B, Q, C].</summary>
    public Tensor TransformerDecoderLastHiddenState { get; }

    /// <summary>Each deformable encoder layer's tokens [B, S, C] when requested, else empty.</summary>
    public IReadOnlyList<Tensor> PixelDecoderEncoderLayers { get; }

    private IEnumerable<Tensor> All()
    {
        yield return ClassQueriesLogits;
        yield return MasksQueriesLogits;
        foreach (var (c, m) in AuxiliaryLogits) { yield return c; yield return m; }
        foreach (var t in EncoderHiddenStates) yield return t;
        foreach (var t in PixelDecoderHiddenStates) yield return t;
        yield return PixelDecoderLastHiddenState;
        foreach (var t in TransformerDecoderHiddenStates) yield return t;
        yield return TransformerDecoderLastHiddenState;
        foreach (var t in PixelDecoderEncoderLayers) yield return t;
    }

    internal Mask2FormerOutput MoveToOuterDisposeScope()
    {
        foreach (var t in All()) t.MoveToOuterDisposeScope();
        return this;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        foreach (var t in All()) t.Dispose();
    }
}
