namespace Microsoft.ML.Mask2Former.Training.Modeling.Swin;

/// <summary>Non-overlapping patch projection (a strided convolution); the input is zero-padded at right/bottom to a multiple of the patch.</summary>
public sealed class SwinPatchEmbeddings : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d projection;
    private readonly int _patch;

    /// <summary>Creates the projection of <paramref name="config"/>.</summary>
    public SwinPatchEmbeddings(SwinConfig config) : base(nameof(SwinPatchEmbeddings))
    {
        _patch = config.PatchSize;
        projection = nn.Conv2d(config.NumChannels, config.EmbedDim, kernel_size: config.PatchSize, stride: config.PatchSize);
        RegisterComponents();
    }

    /// <summary>[B, C, H, W] pixels → [B, C', ⌈H/p⌉, ⌈W/p⌉] patch features.</summary>
    public override Tensor forward(Tensor pixelValues)
    {
        using var scope = NewDisposeScope();
        var height = pixelValues.shape[2];
        var width = pixelValues.shape[3];
        var padRight = (_patch - width % _patch) % _patch;
        var padBottom = (_patch - height % _patch) % _patch;
        var x = padRight > 0 || padBottom > 0 ? nn.functional.pad(pixelValues, new[] { 0, padRight, 0, padBottom }) : pixelValues;
        return projection.forward(x).MoveToOuterDisposeScope();
    }
}
