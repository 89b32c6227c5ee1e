namespace Microsoft.ML.Mask2Former.Training.Modeling.PixelDecoder;

/// <summary>The stack of deformable encoder layers over the flattened three-level features.</summary>
public sealed class PixelDecoderEncoder : nn.Module
{
    private readonly ModuleList<PixelDecoderEncoderLayer> layers;

    /// <summary>Creates <c>encoder_layers</c> layers.</summary>
    public PixelDecoderEncoder(Mask2FormerConfig config) : base(nameof(PixelDecoderEncoder))
    {
        layers = nn.ModuleList(Enumerable.Range(0, config.EncoderLayers).Select(_ => new PixelDecoderEncoderLayer(config)).ToArray());
        RegisterComponents();
    }

    /// <summary>
    /// Reference points [1, S, L, 2] of the tokens of maps of sizes <paramref name="shapes"/>: the
    /// centre of each token's pixel, normalised to (0, 1), the same for each of the
    /// <paramref name="levels"/> levels sampled (default: one per shape; no padding, valid ratios 1).
    /// </summary>
    internal static Tensor ReferencePoints(IReadOnlyList<(long Height, long Width)> shapes, ScalarType dtype, Device device, int? levels = null)
    {
        using var scope = NewDisposeScope();
        var perLevel = new List<Tensor>();
        foreach (var (h, w) in shapes)
        {
            var y = linspace(0.5, h - 0.5, h, dtype: dtype, device: device) / h;
            var x = linspace(0.5, w - 0.5, w, dtype: dtype, device: device) / w;
            var grid = meshgrid(new[] { y, x }, indexing: "ij");
            perLevel.Add(stack(new[] { grid[1].reshape(-1), grid[0].reshape(-1) }, -1));
        }
        var points = cat(perLevel.ToArray(), 0).unsqueeze(0).unsqueeze(2).expand(1, -1, levels ?? shapes.Count, 2);
        return points.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Runs the layers; returns the last hidden state and, when <paramref name="keepLayerOutputs"/>,
    /// every layer's output.
    /// </summary>
    public (Tensor Last, IReadOnlyList<Tensor> PerLayer) forward(Tensor hidden, Tensor position, IReadOnlyList<(long Height, long Width)> shapes, bool keepLayerOutputs)
    {
        using var scope = NewDisposeScope();
        var reference = ReferencePoints(shapes, hidden.dtype, hidden.device).expand(hidden.shape[0], -1, -1, -1);
        var perLayer = new List<Tensor>();
        foreach (var layer in layers)
        {
            hidden = layer.forward(hidden, position, reference, shapes);
            if (keepLayerOutputs) perLayer.Add(hidden);
        }
        if (layers.Count == 0) return (hidden, perLayer);
        var last = hidden.MoveToOuterDisposeScope();
        return (last, perLayer.Select(t => ReferenceEquals(t, last) ? last : t.MoveToOuterDisposeScope()).ToList());
    }
}
