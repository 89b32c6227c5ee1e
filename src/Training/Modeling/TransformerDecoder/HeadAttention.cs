namespace Microsoft.ML.Mask2Former.Training.Modeling.TransformerDecoder;

/// <summary>
/// The multi-head step the decoder's self- and cross-attention share, between their input
/// projections (which differ in parameter layout: Hugging Face's <c>q_proj</c>/<c>k_proj</c>/<c>v_proj</c>
/// against PyTorch's packed <c>in_proj_weight</c>) and their output projection.
/// </summary>
internal static class HeadAttention
{
    /// <summary>
    /// Projected queries [Q, B, C] and keys / values [S, B, C] (sequence first) split into
    /// <paramref name="heads"/> heads, scaled dot-product attention (where <paramref name="attend"/>
    /// [B, heads, Q, S], if given, is <see langword="true"/>), heads merged → [Q, B, C].
    /// </summary>
    public static Tensor Attend(Tensor q, Tensor k, Tensor v, int heads, Tensor? attend, double dropout)
    {
        var (count, batch, dim) = (q.shape[0], q.shape[1], q.shape[2]);
        var headDim = dim / heads;
        Tensor Heads(Tensor x) => x.view(x.shape[0], batch, heads, headDim).permute(1, 2, 0, 3);
        var attended = nn.functional.scaled_dot_product_attention(Heads(q), Heads(k), Heads(v), attend, p: dropout);
        return attended.permute(2, 0, 1, 3).reshape(count, batch, dim);
    }
}
