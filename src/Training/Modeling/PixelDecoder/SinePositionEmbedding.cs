namespace Microsoft.ML.Mask2Former.Training.Modeling.PixelDecoder;

/// <summary>
/// DETR's normalised sine/cosine position encoding of a feature map: for y and x, positions
/// 1..H scaled to (0, 2π], divided by 10000^(2⌊i/2⌋/F), sine on even and cosine on odd features;
/// y features first. No padding mask (every pixel is valid), so it depends on the map's size only.
/// </summary>
public static class SinePositionEmbedding
{
    /// <summary>Encoding [B, 2·<paramref name="features"/>, H, W] of a map of that size.</summary>
    public static Tensor Compute(long batch, long height, long width, int features, ScalarType dtype, Device device)
    {
        using var scope = NewDisposeScope();
        const double Scale = 2 * Math.PI;
        const double Eps = 1e-6;
        var yEmbed = arange(1, height + 1, dtype: dtype, device: device).view(1, height, 1).expand(batch, height, width);
        var xEmbed = arange(1, width + 1, dtype: dtype, device: device).view(1, 1, width).expand(batch, height, width);
        yEmbed = yEmbed / (height + Eps) * Scale;
        xEmbed = xEmbed / (width + Eps) * Scale;
        var dimT = arange(features, dtype: ScalarType.Int64, device: device).to(dtype);
        dimT = full(new long[] { features }, 10000.0, dtype: dtype, device: device).pow(dimT.div(2, RoundingMode.floor).mul(2).div(features));
        Tensor Encode(Tensor embed)
        {
            var p = embed.unsqueeze(-1) / dimT;
            var sin = p[.., .., .., TensorIndex.Slice(0, null, 2)].sin();
            var cos = p[.., .., .., TensorIndex.Slice(1, null, 2)].cos();
            return stack(new[] { sin, cos }, 4).flatten(3);
        }
        var pos = cat(new[] { Encode(yEmbed), Encode(xEmbed) }, 3).permute(0, 3, 1, 2).contiguous();
        return pos.MoveToOuterDisposeScope();
    }
}
