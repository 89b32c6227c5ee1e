namespace Microsoft.ML.Mask2Former.Training.Modeling.Swin;

/// <summary>Window attention and its output projection (Hugging Face <c>attention.self</c> / <c>attention.output</c>).</summary>
public sealed class SwinAttention : nn.Module
{
#pragma warning disable IDE1006 // Named like the state-dict entry it loads ("attention.self").
    private readonly SwinSelfAttention @self;
#pragma warning restore IDE1006
    private readonly SwinSelfOutput output;

    /// <summary>Creates the attention of a block with <paramref name="dim"/> channels.</summary>
    public SwinAttention(SwinConfig config, int dim, int heads) : base(nameof(SwinAttention))
    {
        @self = new SwinSelfAttention(config, dim, heads);
        output = new SwinSelfOutput(dim);
        RegisterComponents();
    }

    /// <summary>Windows [nW·B, N, C] → [nW·B, N, C].</summary>
    public Tensor forward(Tensor windows, Tensor? shiftMask)
    {
        using var scope = NewDisposeScope();
        return output.forward(@self.forward(windows, shiftMask)).MoveToOuterDisposeScope();
    }
}
