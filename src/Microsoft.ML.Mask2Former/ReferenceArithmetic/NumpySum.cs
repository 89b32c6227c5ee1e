namespace Microsoft.ML.Mask2Former.ReferenceArithmetic;

/// <summary>
/// <c>np.sum</c> of a contiguous float64 array, in numpy's own order: pairwise summation with
/// blocks of 128 that are summed through eight interleaved partial sums. detectron2 averages
/// per-class IoUs with <c>np.sum</c>, so summing in this order reproduces its numbers to the
/// last bit rather than to rounding noise.
/// </summary>
internal static class NumpySum
{
    private const int BlockSize = 128;

    public static double Sum(ReadOnlySpan<double> a)
    {
        var n = a.Length;
        if (n < 8)
        {
            // numpy starts the reduction from the identity, 0.0 (so an empty sum is 0.0).
            var res = 0.0;
            for (var i = 0; i < n; i++) res += a[i];
            return res;
        }
        if (n <= BlockSize)
        {
            double r0 = a[0], r1 = a[1], r2 = a[2], r3 = a[3], r4 = a[4], r5 = a[5], r6 = a[6], r7 = a[7];
            var i = 8;
            for (; i < n - n % 8; i += 8)
            {
                r0 += a[i];
                r1 += a[i + 1];
                r2 += a[i + 2];
                r3 += a[i + 3];
                r4 += a[i + 4];
                r5 += a[i + 5];
                r6 += a[i + 6];
                r7 += a[i + 7];
            }
            var res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7));
            for (; i < n; i++) res += a[i];
            return res;
        }
        var half = n / 2;
        half -= half % 8;
        return Sum(a[..half]) + Sum(a[half..]);
    }
}
