using System.Runtime.CompilerServices;

namespace Microsoft.ML.Mask2Former.PostProcessing;

/// <summary>
/// float32 arithmetic in the exact order PyTorch 1.13's CPU kernels use (its AVX2 build, with
/// FMA), so that post-processing reproduces the references bit for bit: SLEEF's <c>expf_u10</c>
/// (what vectorised <c>exp</c>, <c>sigmoid</c> and <c>softmax</c> call), the lane layout of the
/// vectorised last-dimension softmax sum and of the cascade sum, and the bilinear kernel
/// (source coordinate and the two-tap blend each contracted to one fused multiply-add).
/// </summary>
internal static class TorchFloat
{
    /// <summary>float32 lanes of one vector register in the reference build (PyTorch's AVX2 kernels).</summary>
    private const int Lanes = 8;

    // SLEEF single-precision constants (log2(e), ln(2) split in two).
    private const float Log2E = 1.442695040888963407359924681001892137426645954152985934135449406931f;
    private const float Ln2Upper = 0.693145751953125f;
    private const float Ln2Lower = 1.428606765330187045e-06f;

    /// <summary>SLEEF <c>expf_u10</c> as compiled with FMA (at most 1 ulp from e^x; NaN stays NaN, e^x overflows to +∞ above 100, flushes to 0 below −104).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Exp(float d)
    {
        if (float.IsNaN(d)) return float.NaN;
        if (d > 100f) return float.PositiveInfinity;
        if (d < -104f) return 0f;
        var q = (int)MathF.Round(d * Log2E, MidpointRounding.ToEven);
        var s = MathF.FusedMultiplyAdd(q, -Ln2Upper, d);
        s = MathF.FusedMultiplyAdd(q, -Ln2Lower, s);
        var u = 0.000198527617612853646278381f;
        u = MathF.FusedMultiplyAdd(u, s, 0.00139304355252534151077271f);
        u = MathF.FusedMultiplyAdd(u, s, 0.00833336077630519866943359f);
        u = MathF.FusedMultiplyAdd(u, s, 0.0416664853692054748535156f);
        u = MathF.FusedMultiplyAdd(u, s, 0.166666671633720397949219f);
        u = MathF.FusedMultiplyAdd(u, s, 0.5f);
        u = 1f + MathF.FusedMultiplyAdd(s * s, u, s);
        var half = q >> 1;
        return u * Pow2(half) * Pow2(q - half);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Pow2(int e) => BitConverter.Int32BitsToSingle((e + 0x7f) << 23);

    /// <summary>PyTorch's vectorised sigmoid: <c>1 / (exp(0 - x) + 1)</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sigmoid(float x) => 1f / (Exp(0f - x) + 1f);

    /// <summary>Softmax of one row in place of <paramref name="output"/>, as PyTorch's last-dimension vectorised kernel computes it.</summary>
    public static void Softmax(ReadOnlySpan<float> input, Span<float> output)
    {
        var n = input.Length;
        var max = float.NegativeInfinity;
        var nan = false;
        for (var i = 0; i < n; i++)
        {
            var v = input[i];
            if (float.IsNaN(v)) nan = true;
            else if (v > max) max = v;
        }
        if (nan) max = float.NaN;
        for (var i = 0; i < n; i++) output[i] = Exp(input[i] - max);
        var inverse = 1f / ReduceAllSum(output);
        for (var i = 0; i < n; i++) output[i] *= inverse;
    }

    // vec::reduce_all with x + y: lane-wise accumulation of whole vectors, the tail folded into
    // the first lanes, then AVX2's horizontal reduction (halves, pairs, neighbours).
    private static float ReduceAllSum(ReadOnlySpan<float> data)
    {
        var lanes = Lanes;
        var n = data.Length;
        if (n < lanes)
        {
            var s = data.Length > 0 ? data[0] : 0f;
            for (var i = 1; i < n; i++) s += data[i];
            return s;
        }
        Span<float> acc = stackalloc float[lanes];
        data[..lanes].CopyTo(acc);
        var d = lanes;
        for (; d < n - n % lanes; d += lanes)
            for (var l = 0; l < lanes; l++) acc[l] += data[d + l];
        for (var l = 0; d + l < n; l++) acc[l] += data[d + l];
        for (var width = lanes / 2; width >= 1; width /= 2)
            for (var l = 0; l < width; l++) acc[l] = acc[l] + acc[l + width];
        return acc[0];
    }

    /// <summary>
    /// The float32 sum PyTorch's cascade-sum kernel gives for one contiguous row of
    /// <paramref name="count"/> values produced by <paramref name="source"/>.
    /// </summary>
    public static float CascadeSum<TSource>(in TSource source, int count) where TSource : struct, IFloatSource
    {
        var lanes = Lanes;
        if (count < lanes) return RowSum(source, count);
        var vectors = count / lanes;
        Span<float> vec = stackalloc float[lanes];
        RowSumVectors(source, vectors, lanes, vec);
        var total = 0f;
        for (var k = vectors * lanes; k < count; k++) total += source[k];
        for (var l = 0; l < lanes; l++) total += vec[l];
        return total;
    }

    private static float RowSum<TSource>(in TSource source, int count) where TSource : struct, IFloatSource
    {
        var sizeIlp = count / 4;
        Span<float> partial = stackalloc float[4];
        MultiRowSum(source, sizeIlp, 1, partial);
        for (var i = sizeIlp * 4; i < count; i++) partial[0] += source[i];
        for (var k = 1; k < 4; k++) partial[0] += partial[k];
        return partial[0];
    }

    private static void RowSumVectors<TSource>(in TSource source, int vectors, int lanes, Span<float> result) where TSource : struct, IFloatSource
    {
        var sizeIlp = vectors / 4;
        Span<float> partial = stackalloc float[4 * lanes];
        MultiRowSum(source, sizeIlp, lanes, partial);
        for (var i = sizeIlp * 4; i < vectors; i++)
            for (var l = 0; l < lanes; l++) partial[l] += source[i * lanes + l];
        for (var k = 1; k < 4; k++)
            for (var l = 0; l < lanes; l++) partial[l] += partial[k * lanes + l];
        partial[..lanes].CopyTo(result);
    }

    // multi_row_sum with 4 rows (of `lanes` floats each) and 4 cascade levels.
    private static void MultiRowSum<TSource>(in TSource source, int size, int lanes, Span<float> result) where TSource : struct, IFloatSource
    {
        const int levels = 4;
        var levelPower = Math.Max(4, CeilLog2(size) / levels);
        var levelStep = 1 << levelPower;
        var levelMask = levelStep - 1;
        var width = 4 * lanes;
        Span<float> acc = stackalloc float[levels * width];
        acc.Clear();
        var i = 0;
        while (i + levelStep <= size)
        {
            for (var j = 0; j < levelStep; j++, i++)
            {
                var b = i * width;
                for (var k = 0; k < width; k++) acc[k] += source[b + k];
            }
            for (var j = 1; j < levels; j++)
            {
                for (var k = 0; k < width; k++)
                {
                    acc[j * width + k] += acc[(j - 1) * width + k];
                    acc[(j - 1) * width + k] = 0f;
                }
                if ((i & (levelMask << (j * levelPower))) != 0) break;
            }
        }
        for (; i < size; i++)
        {
            var b = i * width;
            for (var k = 0; k < width; k++) acc[k] += source[b + k];
        }
        for (var j = 1; j < levels; j++)
            for (var k = 0; k < width; k++) acc[k] += acc[j * width + k];
        acc[..width].CopyTo(result);
    }

    private static int CeilLog2(int x) => x <= 2 ? 1 : 32 - System.Numerics.BitOperations.LeadingZeroCount((uint)(x - 1));

    /// <summary>Index and weights of one output coordinate of PyTorch's bilinear kernel (align_corners=False).</summary>
    public static void LinearTaps(int inputSize, int outputSize, Span<int> index0, Span<int> index1, Span<float> weight0, Span<float> weight1)
    {
        var scale = (float)inputSize / outputSize;
        for (var i = 0; i < outputSize; i++)
        {
            if (inputSize == outputSize)
            {
                index0[i] = index1[i] = i;
                weight0[i] = 1f;
                weight1[i] = 0f;
                continue;
            }
            var real = MathF.FusedMultiplyAdd(scale, i + 0.5f, -0.5f);
            if (real < 0f) real = 0f;
            var i0 = (int)Math.Min((long)real, inputSize - 1);
            var lambda1 = real - i0;
            index0[i] = i0;
            index1[i] = i0 < inputSize - 1 ? i0 + 1 : i0;
            weight1[i] = lambda1;
            weight0[i] = 1f - lambda1;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Blend(float a, float wa, float b, float wb) =>
        MathF.FusedMultiplyAdd(a, wa, b * wb);

    /// <summary>
    /// F.interpolate(mode="bilinear", align_corners=False) of one plane: the top-left
    /// <paramref name="height"/>×<paramref name="width"/> window of a plane with
    /// <paramref name="rowStride"/> floats per row, to <paramref name="outHeight"/>×<paramref name="outWidth"/>.
    /// </summary>
    public static void ResizeBilinear(ReadOnlySpan<float> source, int height, int width, int rowStride, Span<float> destination, int outHeight, int outWidth, BilinearTaps taps)
    {
        for (var oy = 0; oy < outHeight; oy++)
        {
            var r0 = source.Slice(taps.Y0[oy] * rowStride, width);
            var r1 = source.Slice(taps.Y1[oy] * rowStride, width);
            var wy0 = taps.WY0[oy];
            var wy1 = taps.WY1[oy];
            var row = destination.Slice(oy * outWidth, outWidth);
            for (var ox = 0; ox < outWidth; ox++)
            {
                int x0 = taps.X0[ox], x1 = taps.X1[ox];
                float wx0 = taps.WX0[ox], wx1 = taps.WX1[ox];
                var t0 = Blend(r0[x0], wx0, r0[x1], wx1);
                var t1 = Blend(r1[x0], wx0, r1[x1], wx1);
                row[ox] = Blend(t0, wy0, t1, wy1);
            }
        }
    }

    /// <summary>PyTorch's legacy "nearest" source index: exact copy at equal size, halving at exactly twice the size, else floor(i · (in/out)).</summary>
    public static int NearestIndex(int outputIndex, int inputSize, int outputSize)
    {
        if (outputSize == inputSize) return outputIndex;
        if (outputSize == 2 * inputSize) return outputIndex >> 1;
        var scale = (float)inputSize / outputSize;
        return (int)Math.Min((long)MathF.Floor(outputIndex * scale), inputSize - 1);
    }
}

/// <summary>Precomputed taps of a bilinear resize between two plane sizes.</summary>
internal sealed class BilinearTaps
{
    public BilinearTaps(int height, int width, int outHeight, int outWidth)
    {
        Y0 = new int[outHeight]; Y1 = new int[outHeight]; WY0 = new float[outHeight]; WY1 = new float[outHeight];
        X0 = new int[outWidth]; X1 = new int[outWidth]; WX0 = new float[outWidth]; WX1 = new float[outWidth];
        TorchFloat.LinearTaps(height, outHeight, Y0, Y1, WY0, WY1);
        TorchFloat.LinearTaps(width, outWidth, X0, X1, WX0, WX1);
    }

    public int[] Y0 { get; }
    public int[] Y1 { get; }
    public float[] WY0 { get; }
    public float[] WY1 { get; }
    public int[] X0 { get; }
    public int[] X1 { get; }
    public float[] WX0 { get; }
    public float[] WX1 { get; }
}

/// <summary>A row of floats computed on demand (so sums need no temporary buffer).</summary>
internal interface IFloatSource
{
    float this[int index] { get; }
}
