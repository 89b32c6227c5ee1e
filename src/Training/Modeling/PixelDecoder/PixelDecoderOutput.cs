namespace Microsoft.ML.Mask2Former.Training.Modeling.PixelDecoder;

/// <summary>What the pixel decoder produces; disposing releases the tensors.</summary>
/// <param name="MultiScaleFeatures">The three refined maps [B, C, h, w], strides 32, 16, 8 (the transformer decoder's memory).</param>
/// <param name="MaskFeatures">Per-pixel embeddings [B, C_mask, H/4, W/4].</param>
/// <param name="EncoderLayerOutputs">Each deformable encoder layer's tokens [B, S, C] when requested (for parity checks), else empty.</param>
public sealed record PixelDecoderOutput(IReadOnlyList<Tensor> MultiScaleFeatures, Tensor MaskFeatures, IReadOnlyList<Tensor> EncoderLayerOutputs) : IDisposable
{
    /// <summary>Moves every tensor to the dispose scope outside the current one (for returning out of a forward).</summary>
    public PixelDecoderOutput MoveToOuterDisposeScope()
    {
        foreach (var t in MultiScaleFeatures) t.MoveToOuterDisposeScope();
        MaskFeatures.MoveToOuterDisposeScope();
        foreach (var t in EncoderLayerOutputs) t.MoveToOuterDisposeScope();
        return this;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        foreach (var t in MultiScaleFeatures) t.Dispose();
        MaskFeatures.Dispose();
        foreach (var t in EncoderLayerOutputs) t.Dispose();
    }
}
