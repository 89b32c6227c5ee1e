namespace Microsoft.ML.Mask2Former.Training.Modeling.Swin;

/// <summary>Halves the token grid: concatenates each 2×2 neighbourhood (odd sizes zero-padded), normalises, projects 4C → 2C.</summary>
public sealed class SwinPatchMerging : nn.Module
{
    private readonly Linear reduction;
    private readonly LayerNorm norm;

    /// <summary>Creates the merging of a stage with <paramref name="dim"/> channels.</summary>
    public SwinPatchMerging(int dim) : base(nameof(SwinPatchMerging))
    {
        reduction = nn.Linear(4 * dim, 2 * dim, hasBias: false);
        norm = nn.LayerNorm(4 * dim);
        RegisterComponents();
    }

    /// <summary>Tokens [B, H·W, C] → [B, ⌈H/2⌉·⌈W/2⌉, 2C].</summary>
    public Tensor forward(Tensor tokens, long height, long width)
    {
        using var scope = NewDisposeScope();
        var batch = tokens.shape[0];
        var channels = tokens.shape[2];
        var x = tokens.view(batch, height, width, channels);
        if (height % 2 == 1 || width % 2 == 1) x = nn.functional.pad(x, new long[] { 0, 0, 0, width % 2, 0, height % 2 });
        var x0 = x[.., TensorIndex.Slice(0, null, 2), TensorIndex.Slice(0, null, 2), ..];
        var x1 = x[.., TensorIndex.Slice(1, null, 2), TensorIndex.Slice(0, null, 2), ..];
        var x2 = x[.., TensorIndex.Slice(0, null, 2), TensorIndex.Slice(1, null, 2), ..];
        var x3 = x[.., TensorIndex.Slice(1, null, 2), TensorIndex.Slice(1, null, 2), ..];
        var merged = cat(new[] { x0, x1, x2, x3 }, -1).view(batch, -1, 4 * channels);
        return reduction.forward(norm.forward(merged)).MoveToOuterDisposeScope();
    }
}
