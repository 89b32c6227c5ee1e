namespace Microsoft.ML.Mask2Former.Training.Modeling.VitAdapter;

/// <summary>BEiT's patch embedding: a 16×16 stride-16 convolution, flattened to tokens [B, h·w, C] row-major over (h, w).</summary>
public sealed class BeitPatchEmbed : nn.Module
{
    private readonly Conv2d proj;

    /// <summary>Creates the embedding of <paramref name="config"/>.</summary>
    public BeitPatchEmbed(VitAdapterConfig config) : base(nameof(BeitPatchEmbed))
    {
        proj = nn.Conv2d(config.NumChannels, config.EmbedDim, kernel_size: config.PatchSize, stride: config.PatchSize);
        RegisterComponents();
    }

    /// <summary>Pixels [B, 3, H, W] → tokens [B, (H/16)·(W/16), C].</summary>
    public Tensor forward(Tensor pixels)
    {
        using var scope = NewDisposeScope();
        return proj.forward(pixels).flatten(2).transpose(1, 2).MoveToOuterDisposeScope();
    }
}
