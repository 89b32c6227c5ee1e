namespace Microsoft.ML.Mask2Former.Training.Modeling;

/// <summary>Stochastic depth (drop path): in training, drops the whole residual branch of a sample with probability p and rescales the rest.</summary>
internal static class StochasticDepth
{
    /// <summary>The branch [B, …] with each sample kept with probability 1 − <paramref name="rate"/> (divided by it), or unchanged outside training.</summary>
    public static Tensor Apply(Tensor branch, double rate, bool training)
    {
        if (!training || rate <= 0) return branch;
        var keep = 1 - rate;
        var shape = new long[branch.dim()];
        Array.Fill(shape, 1L);
        shape[0] = branch.shape[0];
        var mask = rand(shape, branch.dtype, branch.device).add_(keep).floor_();
        return branch.div(keep) * mask;
    }
}
