namespace Microsoft.ML.Mask2Former.Training.Modeling.VitAdapter;

/// <summary>The block MLP: <c>fc1</c>, exact GELU, <c>fc2</c>.</summary>
public sealed class BeitMlp : nn.Module
{
    private readonly Linear fc1;
    private readonly Linear fc2;

    /// <summary>Creates an MLP of <paramref name="dim"/> channels with <paramref name="hidden"/> hidden ones.</summary>
    public BeitMlp(int dim, int hidden) : base(nameof(BeitMlp))
    {
        fc1 = nn.Linear(dim, hidden);
        fc2 = nn.Linear(hidden, dim);
        RegisterComponents();
    }

    /// <summary>Tokens [B, N, C] → [B, N, C].</summary>
    public Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return fc2.forward(nn.functional.gelu(fc1.forward(x))).MoveToOuterDisposeScope();
    }
}
