namespace Microsoft.ML.Mask2Former.Training.Modeling.TransformerDecoder;

/// <summary>
/// Turns query states into mask logits (3-layer MLP, then a dot product with the per-pixel
/// embeddings) and into the attention mask of the next layer: the logits resized bilinearly to that
/// layer's feature level, where sigmoid &lt; 0.5 is masked.
/// </summary>
public sealed class MaskPredictor : nn.Module
{
    private readonly Sequential mask_embedder;
    private readonly int _heads;

    /// <summary>Creates the predictor of <paramref name="config"/>.</summary>
    public MaskPredictor(Mask2FormerConfig config) : base(nameof(MaskPredictor))
    {
        _heads = config.NumAttentionHeads;
        var d = config.HiddenDim;
        // Each block is [Linear, activation] so the names are mask_embedder.{i}.0.weight as in the reference.
        mask_embedder = nn.Sequential(
            nn.Sequential(nn.Linear(d, d), nn.ReLU()),
            nn.Sequential(nn.Linear(d, d), nn.ReLU()),
            nn.Sequential(nn.Linear(d, config.MaskFeatureSize), nn.Identity()));
        RegisterComponents();
    }

    /// <summary>
    /// <paramref name="queries"/> [Q, B, C] (after the decoder's layer norm) and
    /// <paramref name="pixelEmbeddings"/> [B, C, H, W] → mask logits [B, Q, H, W] and, for the next
    /// layer's level of size <paramref name="targetHeight"/>×<paramref name="targetWidth"/>, the
    /// attention mask [B, heads, Q, h·w] with true where attention is allowed.
    /// </summary>
    public (Tensor MaskLogits, Tensor Attend) forward(Tensor queries, Tensor pixelEmbeddings, long targetHeight, long targetWidth)
    {
        using var scope = NewDisposeScope();
        var embeddings = mask_embedder.forward(queries.transpose(0, 1));
        var logits = einsum("bqc,bchw->bqhw", embeddings, pixelEmbeddings);
        using (no_grad())
        {
            var resized = nn.functional.interpolate(logits.detach(), size: new[] { targetHeight, targetWidth }, mode: InterpolationMode.Bilinear, align_corners: false);
            var masked = resized.sigmoid().flatten(2).lt(0.5);
            // A query masked everywhere attends everywhere instead (else its softmax row is empty).
            var full = masked.all(-1, keepdim: true);
            var attend = masked.logical_not().logical_or(full).unsqueeze(1).expand(-1, _heads, -1, -1);
            return (logits.MoveToOuterDisposeScope(), attend.MoveToOuterDisposeScope());
        }
    }
}
