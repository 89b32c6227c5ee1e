namespace Microsoft.ML.Mask2Former.Training.Modeling.VitAdapter;

/// <summary>The extractor's convolutional FFN: <c>fc1</c>, a depthwise 3×3 convolution per prior level, exact GELU, <c>fc2</c>.</summary>
public sealed class ConvFfn : nn.Module
{
    private readonly Linear fc1;
    private readonly DepthwiseConv dwconv;
    private readonly Linear fc2;

    /// <summary>Creates the FFN of <paramref name="config"/>.</summary>
    public ConvFfn(VitAdapterConfig config) : base(nameof(ConvFfn))
    {
        fc1 = nn.Linear(config.EmbedDim, config.CffnHiddenDim);
        dwconv = new DepthwiseConv(config.CffnHiddenDim);
        fc2 = nn.Linear(config.CffnHiddenDim, config.EmbedDim);
        RegisterComponents();
    }

    /// <summary>Prior tokens [B, n, C] → [B, n, C].</summary>
    internal Tensor forward(Tensor x, AdapterGrid grid)
    {
        using var scope = NewDisposeScope();
        return fc2.forward(nn.functional.gelu(dwconv.forward(fc1.forward(x), grid))).MoveToOuterDisposeScope();
    }
}
