using System.Numerics;
using Microsoft.ML.Mask2Former.ReferenceArithmetic;

namespace Microsoft.ML.Mask2Former.PostProcessing;

/// <summary>
/// The part of panoptic inference that detectron2's <c>panoptic_inference</c> and mmdetection's
/// <c>MaskFormerFusionHead.panoptic_postprocess</c> share: keep the queries whose best class is not
/// "no object" and whose probability is above the threshold, then give every output pixel to
/// <c>argmax_k(score_k · sigmoid_k)</c> over the kept queries. Only the winner and its sigmoid are
/// kept per pixel, and per kept query its own area (sigmoid ≥ 0.5), the pixels it wins and the
/// pixels it wins with sigmoid ≥ 0.5; never the planes.
/// </summary>
internal sealed class PanopticArgMax
{
    /// <summary>Pixels per parallel band of output rows; planes smaller than two bands run on one thread.</summary>
    internal const int BandPixels = 1 << 16;

    private PanopticArgMax(int height, int width, int[] kept, float[] scores, int[] labels, int[] owner, float[] ownerSigmoid,
        long[] originalArea, long[] maskArea, long[] visibleArea)
    {
        Height = height;
        Width = width;
        Kept = kept;
        Scores = scores;
        Labels = labels;
        Owner = owner;
        OwnerSigmoid = ownerSigmoid;
        OriginalArea = originalArea;
        MaskArea = maskArea;
        VisibleArea = visibleArea;
    }

    public int Height { get; }

    public int Width { get; }

    /// <summary>The kept queries, in query order; the index k into this array names a kept query below.</summary>
    public int[] Kept { get; }

    /// <summary>Class probability of kept query k.</summary>
    public float[] Scores { get; }

    /// <summary>Best class of kept query k.</summary>
    public int[] Labels { get; }

    /// <summary>Per pixel: the kept query k that wins it (first of equal maxima, first NaN wins); empty when nothing is kept.</summary>
    public int[] Owner { get; }

    /// <summary>Per pixel: the winner's sigmoid; empty when nothing is kept.</summary>
    public float[] OwnerSigmoid { get; }

    /// <summary>Pixels where kept query k's sigmoid is at least 0.5 (<c>original_area</c>).</summary>
    public long[] OriginalArea { get; }

    /// <summary>Pixels kept query k wins (<c>mask_area</c>).</summary>
    public long[] MaskArea { get; }

    /// <summary>Pixels kept query k wins with sigmoid at least 0.5.</summary>
    public long[] VisibleArea { get; }

    /// <summary>Keeps the queries and computes the per-pixel argmax at the output size of <paramref name="geometry"/>.</summary>
    public static PanopticArgMax Compute(in Mask2FormerLogits logits, ImageGeometry geometry, double objectMaskThreshold)
    {
        var probabilities = logits.ClassProbabilities();
        var classes = logits.NumClasses;
        var width = classes + 1;
        // PyTorch compares the float32 scores with the threshold converted to float32.
        var threshold = (float)objectMaskThreshold;
        var kept = new List<int>();
        var keptScores = new List<float>();
        var keptLabels = new List<int>();
        for (var q = 0; q < logits.NumQueries; q++)
        {
            var row = probabilities.AsSpan(q * width, width);
            var label = PixelMath.ArgMax(row);
            var score = row[label];
            if (label != classes && score > threshold)
            {
                kept.Add(q);
                keptScores.Add(score);
                keptLabels.Add(label);
            }
        }

        var upsampler = new MaskUpsampler(logits.MaskHeight, logits.MaskWidth, geometry, toOutput: true);
        var count = kept.Count;
        if (count == 0)
            return new PanopticArgMax(upsampler.Height, upsampler.Width, [], [], [], [], [], [], [], []);

        var pixels = upsampler.PixelCount;
        var owner = new int[pixels];
        var ownerSigmoid = new float[pixels];
        var originalArea = new long[count];
        var scores = keptScores.ToArray();
        // The kept queries' logits, copied so that parallel bands can read them (spans cannot be captured).
        var maskPixels = logits.MaskHeight * logits.MaskWidth;
        var masks = new float[count * maskPixels];
        for (var k = 0; k < count; k++) logits.Mask(kept[k]).CopyTo(masks.AsSpan(k * maskPixels, maskPixels));
        var planeWidth = upsampler.Width;
        var bands = RowBands(upsampler.Height, planeWidth);
        void Band(int band)
        {
            var (rowStart, rowEnd) = bands[band];
            var offset = rowStart * planeWidth;
            var length = (rowEnd - rowStart) * planeWidth;
            var buffer = System.Buffers.ArrayPool<float>.Shared.Rent(2 * length);
            try
            {
                var plane = buffer.AsSpan(0, length);
                var best = buffer.AsSpan(length, length);
                var ids = owner.AsSpan(offset, length);
                var ownSigmoid = ownerSigmoid.AsSpan(offset, length);
                for (var k = 0; k < count; k++)
                {
                    upsampler.UpsampleRows(masks.AsSpan(k * maskPixels, maskPixels), rowStart, rowEnd, plane);
                    var area = ArgMaxStep(plane, scores[k], k, best, ids, ownSigmoid);
                    Interlocked.Add(ref originalArea[k], area);
                }
            }
            finally
            {
                System.Buffers.ArrayPool<float>.Shared.Return(buffer);
            }
        }
        if (bands.Length == 1) Band(0);
        else Parallel.For(0, bands.Length, Band);

        var maskArea = new long[count];
        var visibleArea = new long[count];
        for (var p = 0; p < pixels; p++)
        {
            var k = owner[p];
            maskArea[k]++;
            if (ownerSigmoid[p] >= 0.5f) visibleArea[k]++;
        }
        return new PanopticArgMax(upsampler.Height, upsampler.Width, [.. kept], scores, [.. keptLabels], owner, ownerSigmoid,
            originalArea, maskArea, visibleArea);
    }

    private static (int Start, int End)[] RowBands(int height, int width)
    {
        var rowsPerBand = Math.Max(1, BandPixels / Math.Max(1, width));
        var count = (height + rowsPerBand - 1) / rowsPerBand;
        if (count < 2 || Environment.ProcessorCount == 1) return [(0, height)];
        var bands = new (int, int)[count];
        for (var i = 0; i < count; i++) bands[i] = (i * rowsPerBand, Math.Min(height, (i + 1) * rowsPerBand));
        return bands;
    }

    /// <summary>
    /// One kept query's step of the per-pixel argmax over <c>score · sigmoid(logit)</c>: the logits
    /// in <paramref name="plane"/> become sigmoids, and a pixel moves to query <paramref name="k"/>
    /// when <see cref="PixelMath.Replaces"/> says so (query 0 takes every pixel). Returns the number
    /// of pixels whose sigmoid is at least 0.5. Vectorised; bit-identical to the scalar rule.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static long ArgMaxStep(Span<float> plane, float score, int k, Span<float> best, Span<int> owner, Span<float> ownerSigmoid)
    {
        long area = 0;
        var i = 0;
        var n = plane.Length;
        var vScore = new Vector<float>(score);
        var vK = new Vector<int>(k);
        var half = new Vector<float>(0.5f);
        var areaLanes = Vector<int>.Zero;
        for (; i + Vector<float>.Count <= n; i += Vector<float>.Count)
        {
            var sig = TorchFloat.Sigmoid(new Vector<float>(plane[i..]));
            var value = vScore * sig;
            areaLanes -= Vector.GreaterThanOrEqual(sig, half);
            if (k == 0)
            {
                value.CopyTo(best[i..]);
                sig.CopyTo(ownerSigmoid[i..]);
                Vector<int>.Zero.CopyTo(owner[i..]);
                continue;
            }
            var current = new Vector<float>(best[i..]);
            // Replaces: the current best is not NaN, and the value is NaN or greater.
            var replace = Vector.Equals(current, current)
                & (~Vector.Equals(value, value) | Vector.GreaterThan(value, current));
            Vector.ConditionalSelect(replace, value, current).CopyTo(best[i..]);
            Vector.ConditionalSelect(replace, sig, new Vector<float>(ownerSigmoid[i..])).CopyTo(ownerSigmoid[i..]);
            Vector.ConditionalSelect(replace, vK, new Vector<int>(owner[i..])).CopyTo(owner[i..]);
        }
        for (var l = 0; l < Vector<int>.Count; l++) area += areaLanes[l];
        for (; i < n; i++)
        {
            var sig = TorchFloat.Sigmoid(plane[i]);
            var value = score * sig;
            if (sig >= 0.5f) area++;
            if (k == 0 || PixelMath.Replaces(value, best[i]))
            {
                best[i] = value;
                ownerSigmoid[i] = sig;
                owner[i] = k;
            }
        }
        return area;
    }
}
