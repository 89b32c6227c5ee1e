namespace Microsoft.ML.Mask2Former.Training.Modeling.Swin;

/// <summary>Patch embedding followed by a layer norm over the tokens (no absolute position embedding).</summary>
public sealed class SwinEmbeddings : nn.Module
{
    private readonly SwinPatchEmbeddings patch_embeddings;
    private readonly LayerNorm norm;

    /// <summary>Creates the embeddings of <paramref name="config"/>.</summary>
    public SwinEmbeddings(SwinConfig config) : base(nameof(SwinEmbeddings))
    {
        patch_embeddings = new SwinPatchEmbeddings(config);
        // Hugging Face builds this norm with the default epsilon, not layer_norm_eps.
        norm = nn.LayerNorm(config.EmbedDim);
        RegisterComponents();
    }

    /// <summary>[B, C, H, W] pixels → tokens [B, h·w, C'] and the token grid (h, w).</summary>
    public (Tensor Tokens, long Height, long Width) forward(Tensor pixelValues)
    {
        using var scope = NewDisposeScope();
        var features = patch_embeddings.forward(pixelValues);
        var height = features.shape[2];
        var width = features.shape[3];
        var tokens = norm.forward(features.flatten(2).transpose(1, 2));
        return (tokens.MoveToOuterDisposeScope(), height, width);
    }
}
