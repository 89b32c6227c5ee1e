using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Microsoft.ML.Mask2Former.ReferenceArithmetic;

/// <summary>
/// float32 arithmetic in the exact order PyTorch 1.13's CPU kernels use (its AVX2 build, with
/// FMA), so that post-processing reproduces the references bit for bit: SLEEF's <c>expf_u10</c>
/// (what vectorised <c>exp</c>, <c>sigmoid</c> and <c>softmax</c> call), the lane layout of the
/// vectorised last-dimension softmax sum and of the cascade sum, and the bilinear kernel (source
/// coordinate and weight fraction in double from a float scale, the two-tap blend contracted to
/// one fused multiply-add).
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

    /// <summary><see cref="Exp(float)"/> of every lane: the same operations in the same order, so each lane is bit-identical to the scalar result.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Exp(Vector<float> d)
    {
        var q = Vector.ConvertToInt32(Vector.Round(d * new Vector<float>(Log2E)));
        var qf = Vector.ConvertToSingle(q);
        var s = Vector.FusedMultiplyAdd(qf, new Vector<float>(-Ln2Upper), d);
        s = Vector.FusedMultiplyAdd(qf, new Vector<float>(-Ln2Lower), s);
        var u = new Vector<float>(0.000198527617612853646278381f);
        u = Vector.FusedMultiplyAdd(u, s, new Vector<float>(0.00139304355252534151077271f));
        u = Vector.FusedMultiplyAdd(u, s, new Vector<float>(0.00833336077630519866943359f));
        u = Vector.FusedMultiplyAdd(u, s, new Vector<float>(0.0416664853692054748535156f));
        u = Vector.FusedMultiplyAdd(u, s, new Vector<float>(0.166666671633720397949219f));
        u = Vector.FusedMultiplyAdd(u, s, new Vector<float>(0.5f));
        u = Vector<float>.One + Vector.FusedMultiplyAdd(s * s, u, s);
        var half = Vector.ShiftRightArithmetic(q, 1);
        var r = u * Pow2(half) * Pow2(q - half);
        // A NaN lane is already NaN (s is NaN); out-of-range lanes get the scalar's limits.
        r = Vector.ConditionalSelect(Vector.GreaterThan(d, new Vector<float>(100f)), new Vector<float>(float.PositiveInfinity), r);
        return Vector.ConditionalSelect(Vector.LessThan(d, new Vector<float>(-104f)), Vector<float>.Zero, r);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<float> Pow2(Vector<int> e) => Vector.AsVectorSingle(Vector.ShiftLeft(e + new Vector<int>(0x7f), 23));

    /// <summary><see cref="Sigmoid(float)"/> of every lane, bit-identical to the scalar result.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Sigmoid(Vector<float> x) => Vector<float>.One / (Exp(Vector<float>.Zero - x) + Vector<float>.One);

    /// <summary>Replaces every value by its <see cref="Sigmoid(float)"/>, vectorised.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SigmoidInPlace(Span<float> values)
    {
        var i = 0;
        for (; i + Vector<float>.Count <= values.Length; i += Vector<float>.Count)
            Sigmoid(new Vector<float>(values[i..])).CopyTo(values[i..]);
        for (; i < values.Length; i++) values[i] = Sigmoid(values[i]);
    }

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
    /// The float32 sum PyTorch's cascade-sum kernel gives for one contiguous row: the row as
    /// 8-float vectors in groups of four, summed with four cascade levels, the leftover vectors
    /// into the first, the four folded, then the leftover floats and the 8 lanes added in order.
    /// Vectorised with 8-lane vectors, lane for lane as PyTorch's AVX2 build.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float CascadeSum(ReadOnlySpan<float> values)
    {
        var count = values.Length;
        if (count < Lanes) return ScalarRowSum(values);
        var vectors = count / Lanes;
        var vec = RowSumVectors(values, vectors);
        var total = 0f;
        for (var k = vectors * Lanes; k < count; k++) total += values[k];
        for (var l = 0; l < Lanes; l++) total += vec.GetElement(l);
        return total;
    }

    // row_sum of fewer than 8 floats: four scalar "rows" through the same cascade.
    private static float ScalarRowSum(ReadOnlySpan<float> values)
    {
        Span<float> partial = stackalloc float[4];
        var sizeIlp = values.Length / 4;
        // With fewer than 16 groups no cascade level is ever reached: plain column sums.
        for (var i = 0; i < sizeIlp; i++)
            for (var k = 0; k < 4; k++) partial[k] += values[i * 4 + k];
        for (var i = sizeIlp * 4; i < values.Length; i++) partial[0] += values[i];
        for (var k = 1; k < 4; k++) partial[0] += partial[k];
        return partial[0];
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static Vector256<float> RowSumVectors(ReadOnlySpan<float> values, int vectors)
    {
        var size = vectors / 4;
        const int levels = 4;
        var levelPower = Math.Max(4, CeilLog2(size) / levels);
        var levelStep = 1 << levelPower;
        var levelMask = levelStep - 1;
        Span<Vector256<float>> acc = stackalloc Vector256<float>[levels * 4];
        acc.Clear();
        var i = 0;
        while (i + levelStep <= size)
        {
            for (var j = 0; j < levelStep; j++, i++) AddGroup(acc, values, i);
            for (var j = 1; j < levels; j++)
            {
                for (var k = 0; k < 4; k++)
                {
                    acc[j * 4 + k] += acc[(j - 1) * 4 + k];
                    acc[(j - 1) * 4 + k] = Vector256<float>.Zero;
                }
                if ((i & (levelMask << (j * levelPower))) != 0) break;
            }
        }
        for (; i < size; i++) AddGroup(acc, values, i);
        for (var j = 1; j < levels; j++)
            for (var k = 0; k < 4; k++) acc[k] += acc[j * 4 + k];
        for (var v = size * 4; v < vectors; v++) acc[0] += Vector256.Create(values.Slice(v * Lanes, Lanes));
        for (var k = 1; k < 4; k++) acc[0] += acc[k];
        return acc[0];
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddGroup(Span<Vector256<float>> acc, ReadOnlySpan<float> values, int group)
    {
        var b = group * 4 * Lanes;
        for (var k = 0; k < 4; k++) acc[k] += Vector256.Create(values.Slice(b + k * Lanes, Lanes));
    }

    /// <summary><c>sigmoid(l) · (l &gt; 0)</c> of every logit, vectorised (bit-identical to the scalar product).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PositiveSigmoid(ReadOnlySpan<float> logits, Span<float> output)
    {
        var i = 0;
        for (; i + Vector<float>.Count <= logits.Length; i += Vector<float>.Count)
        {
            var l = new Vector<float>(logits[i..]);
            var positive = Vector.ConditionalSelect(Vector.GreaterThan(l, Vector<float>.Zero), Vector<float>.One, Vector<float>.Zero);
            (Sigmoid(l) * positive).CopyTo(output[i..]);
        }
        for (; i < logits.Length; i++) output[i] = Sigmoid(logits[i]) * (logits[i] > 0f ? 1f : 0f);
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
            // PyTorch: scale * (dst_index + 0.5) - 0.5 with a float scale and a double 0.5, so the
            // source coordinate and the fraction are exact (double) and only the weight is rounded to float.
            var real = scale * (i + 0.5) - 0.5;
            if (real < 0) real = 0;
            var i0 = (int)Math.Min((long)real, inputSize - 1);
            var lambda1 = (float)(real - i0);
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
    /// <remarks>
    /// PyTorch blends along x in each of the two source rows, then along y. The x blends of a source
    /// row are the same for every output row that reads it, so they are computed once per row; the y
    /// blend is vectorised. Every value is bit-identical to the per-pixel formula.
    /// </remarks>
    public static void ResizeBilinear(ReadOnlySpan<float> source, int height, int width, int rowStride, Span<float> destination, int outHeight, int outWidth, BilinearTaps taps)
    {
        ResizeBilinearRows(source, 0, width, rowStride, destination, 0, outHeight, outWidth, taps);
    }

    /// <summary>
    /// Output rows [<paramref name="rowStart"/>, <paramref name="rowEnd"/>) and columns [0, <paramref name="outWidth"/>)
    /// of <see cref="ResizeBilinear"/>, written from the start of <paramref name="destination"/>;
    /// row 0 of <paramref name="source"/> is source row <paramref name="sourceFirstRow"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ResizeBilinearRows(ReadOnlySpan<float> source, int sourceFirstRow, int width, int rowStride, Span<float> destination, int rowStart, int rowEnd, int outWidth, BilinearTaps taps)
    {
        if (rowEnd <= rowStart) return;
        var first = taps.Y0[rowStart];
        var last = Math.Max(taps.Y1[rowEnd - 1], taps.Y0[rowEnd - 1]);
        var count = last - first + 1;
        var buffer = System.Buffers.ArrayPool<float>.Shared.Rent(count * outWidth);
        try
        {
            var rows = buffer.AsSpan(0, count * outWidth);
            for (var y = first; y <= last; y++)
                HorizontalBlend(source.Slice((y - sourceFirstRow) * rowStride, width), rows.Slice((y - first) * outWidth, outWidth), taps);
            for (var oy = rowStart; oy < rowEnd; oy++)
            {
                VerticalBlend(rows.Slice((taps.Y0[oy] - first) * outWidth, outWidth), taps.WY0[oy],
                    rows.Slice((taps.Y1[oy] - first) * outWidth, outWidth), taps.WY1[oy], destination.Slice((oy - rowStart) * outWidth, outWidth));
            }
        }
        finally
        {
            System.Buffers.ArrayPool<float>.Shared.Return(buffer);
        }
    }

    /// <summary>The x blends of one source row at every output column.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void HorizontalBlend(ReadOnlySpan<float> row, Span<float> output, BilinearTaps taps)
    {
        if (taps.IdentityX)
        {
            // Equal widths: PyTorch still blends the pixel with itself (weights 1 and 0), which turns ±∞ into NaN and −0 into +0.
            var i = 0;
            for (; i + Vector<float>.Count <= output.Length; i += Vector<float>.Count)
            {
                var a = new Vector<float>(row[i..]);
                Vector.FusedMultiplyAdd(a, Vector<float>.One, a * Vector<float>.Zero).CopyTo(output[i..]);
            }
            for (; i < output.Length; i++) output[i] = Blend(row[i], 1f, row[i], 0f);
            return;
        }
        var x0 = taps.X0;
        var x1 = taps.X1;
        var w0 = taps.WX0;
        var w1 = taps.WX1;
        for (var ox = 0; ox < output.Length; ox++) output[ox] = Blend(row[x0[ox]], w0[ox], row[x1[ox]], w1[ox]);
    }

    /// <summary><c>Blend(top, w0, bottom, w1)</c> of two rows, vectorised.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void VerticalBlend(ReadOnlySpan<float> top, float w0, ReadOnlySpan<float> bottom, float w1, Span<float> output)
    {
        var v0 = new Vector<float>(w0);
        var v1 = new Vector<float>(w1);
        var i = 0;
        for (; i + Vector<float>.Count <= output.Length; i += Vector<float>.Count)
            Vector.FusedMultiplyAdd(new Vector<float>(top[i..]), v0, new Vector<float>(bottom[i..]) * v1).CopyTo(output[i..]);
        for (; i < output.Length; i++) output[i] = Blend(top[i], w0, bottom[i], w1);
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
        IdentityX = width == outWidth;
    }

    /// <summary>Whether the widths are equal (every output column blends its own column with weights 1 and 0).</summary>
    public bool IdentityX { get; }

    public int[] Y0 { get; }
    public int[] Y1 { get; }
    public float[] WY0 { get; }
    public float[] WY1 { get; }
    public int[] X0 { get; }
    public int[] X1 { get; }
    public float[] WX0 { get; }
    public float[] WX1 { get; }
}
