namespace Microsoft.ML.Mask2Former.Training.Modeling.TransformerDecoder;

/// <summary>Everything the transformer decoder produces; disposing releases the tensors.</summary>
/// <param name="HiddenStates">The query states [Q, B, C] before the first layer and after each layer.</param>
/// <param name="IntermediateStates">The same after the decoder's layer norm (what the class head reads).</param>
/// <param name="MaskLogits">The mask prediction [B, Q, H/4, W/4] from each intermediate state.</param>
public sealed record DecoderOutput(IReadOnlyList<Tensor> HiddenStates, IReadOnlyList<Tensor> IntermediateStates, IReadOnlyList<Tensor> MaskLogits) : IDisposable
{
    /// <summary>Moves every tensor to the dispose scope outside the current one (for returning out of a forward).</summary>
    public DecoderOutput MoveToOuterDisposeScope()
    {
        foreach (var t in HiddenStates) t.MoveToOuterDisposeScope();
        foreach (var t in IntermediateStates) t.MoveToOuterDisposeScope();
        foreach (var t in MaskLogits) t.MoveToOuterDisposeScope();
        return this;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        foreach (var t in HiddenStates) t.Dispose();
        foreach (var t in IntermediateStates) t.Dispose();
        foreach (var t in MaskLogits) t.Dispose();
    }
}
