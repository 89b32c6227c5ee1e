using System.Collections.Immutable;
using System.Numerics;
using Microsoft.ML.Mask2Former.ReferenceArithmetic;

namespace Microsoft.ML.Mask2Former.PostProcessing;

/// <summary>
/// The original (detectron2) Mask2Former inference post-processing, bit-exact to
/// <c>MaskFormer.forward</c> with <c>panoptic_inference</c>, <c>instance_inference</c> and
/// <c>semantic_inference</c> (facebookresearch/Mask2Former 9b0651c, detectron2 v0.6) run by PyTorch
/// 1.13 on CPU in float32. Mask logits are resized bilinearly (align_corners=False) to the padded
/// input size, cropped to the image and resized to the output size: two resizes, never fused.
/// </summary>
/// <remarks>
/// NaN and infinite logits give a defined result and never an exception; they follow PyTorch's
/// float rules. A query whose class logits hold a NaN (or +∞) gets NaN probabilities: it is never
/// kept for panoptic output, ranks above every finite pair in the instance top-k (PyTorch's topk
/// ranks NaN highest) and makes the semantic scores NaN. A NaN mask logit has sigmoid NaN: it
/// wins the panoptic per-pixel argmax (first NaN wins, as in <c>torch.argmax</c>) but is below
/// 0.5, so the pixel stays 0; it is outside instance masks (NaN &gt; 0 is false) and makes that
/// instance's mask score NaN; the semantic class of such a pixel is the first class whose score is NaN.
/// </remarks>
public static class Mask2FormerPostProcessor
{
    /// <summary>Panoptic segmentation of one image (detectron2 <c>panoptic_inference</c> after <c>sem_seg_postprocess</c>).</summary>
    /// <param name="logits">The model outputs for the image.</param>
    /// <param name="geometry">Padded input, image and output sizes.</param>
    /// <param name="options">Thresholds and thing classes; defaults when <see langword="null"/>.</param>
    /// <returns>A segment-id map at the output size and its segments.</returns>
    public static PanopticResult Panoptic(in Mask2FormerLogits logits, ImageGeometry geometry, PanopticOptions? options = null)
    {
        options ??= new PanopticOptions();
        var things = ThingSet(options.ThingClasses, logits.NumClasses, nameof(options.ThingClasses));
        var votes = PanopticArgMax.Compute(logits, geometry, options.ObjectMaskThreshold);
        var map = new int[votes.Height * votes.Width];
        if (votes.Kept.Length == 0)
            return new PanopticResult(votes.Height, votes.Width, PixelMath.Own(map), ImmutableArray<PanopticSegment>.Empty, ImmutableArray<int>.Empty);

        var segmentOf = new int[votes.Kept.Length];
        var stuffSegment = new Dictionary<int, int>();
        var created = new List<(int Category, bool IsThing, float Score, List<int> Queries)>();
        for (var k = 0; k < votes.Kept.Length; k++)
        {
            var label = votes.Labels[k];
            var isThing = things.Contains(label);
            if (!(votes.MaskArea[k] > 0 && votes.OriginalArea[k] > 0 && votes.VisibleArea[k] > 0)) continue;
            if ((double)votes.MaskArea[k] / votes.OriginalArea[k] < options.OverlapThreshold) continue;
            if (!isThing && stuffSegment.TryGetValue(label, out var existing))
            {
                segmentOf[k] = existing;
                created[existing - 1].Queries.Add(votes.Kept[k]);
                continue;
            }
            created.Add((label, isThing, votes.Scores[k], new List<int> { votes.Kept[k] }));
            segmentOf[k] = created.Count;
            if (!isThing) stuffSegment[label] = created.Count;
        }

        for (var p = 0; p < map.Length; p++)
        {
            var k = votes.Owner[p];
            if (segmentOf[k] != 0 && votes.OwnerSigmoid[p] >= 0.5f) map[p] = segmentOf[k];
        }
        return new PanopticResult(votes.Height, votes.Width, PixelMath.Own(map),
            BuildSegments(map, votes.Height, votes.Width, created), [.. votes.Kept]);
    }

    private static ImmutableArray<PanopticSegment> BuildSegments(int[] map, int height, int width, List<(int Category, bool IsThing, float Score, List<int> Queries)> created)
    {
        var (areas, boxes) = PixelMath.Regions(map, height, width, created.Count);
        var segments = ImmutableArray.CreateBuilder<PanopticSegment>(created.Count);
        for (var i = 0; i < created.Count; i++)
        {
            var (category, isThing, score, queries) = created[i];
            segments.Add(new PanopticSegment(i + 1, category, isThing, score, areas[i + 1], boxes[i + 1], [.. queries]));
        }
        return segments.MoveToImmutable();
    }

    /// <summary>Instance segmentation of one image (detectron2 <c>instance_inference</c> after <c>sem_seg_postprocess</c>).</summary>
    /// <param name="logits">The model outputs for the image.</param>
    /// <param name="geometry">Padded input, image and output sizes.</param>
    /// <param name="options">Top-k and thing filter; defaults when <see langword="null"/>.</param>
    /// <returns>The instances, in PyTorch's unsorted top-k order, with masks at the output size.</returns>
    public static InstanceResult Instances(in Mask2FormerLogits logits, ImageGeometry geometry, InstanceOptions? options = null)
    {
        options ??= new InstanceOptions();
        if (options.TopK < 0) throw new ArgumentException($"TopK must not be negative; found {options.TopK}.", nameof(options));
        var things = ThingSet(options.ThingClasses, logits.NumClasses, nameof(options.ThingClasses));
        var probabilities = logits.ClassProbabilities();
        var classes = logits.NumClasses;
        var flat = new float[logits.NumQueries * classes];
        for (var q = 0; q < logits.NumQueries; q++)
            probabilities.AsSpan(q * (classes + 1), classes).CopyTo(flat.AsSpan(q * classes, classes));
        var top = TorchTopK.Indices(flat, Math.Min(options.TopK, flat.Length), sorted: false);

        var chosen = new List<(int Index, int Query, int Label)>();
        foreach (var index in top)
        {
            var label = index % classes;
            if (options.ThingClassesOnly && !things.Contains(label)) continue;
            chosen.Add((index, index / classes, label));
        }
        var upsampler = new MaskUpsampler(logits.MaskHeight, logits.MaskWidth, geometry, toOutput: true);
        var queries = chosen.Select(c => c.Query).Distinct().ToArray();
        var planes = InstancePlanes(logits, upsampler, queries);
        var instances = ImmutableArray.CreateBuilder<InstancePrediction>(chosen.Count);
        foreach (var (index, query, label) in chosen)
        {
            var entry = planes[query];
            var classScore = flat[index];
            instances.Add(new InstancePrediction(query, label, index, classScore, entry.MaskScore, classScore * entry.MaskScore, entry.Mask, entry.Box));
        }
        return new InstanceResult(upsampler.Height, upsampler.Width, instances.ToImmutable());
    }

    /// <summary>
    /// Mask (logit &gt; 0), its box and the mask score <c>Σ sigmoid·mask / (area + 1e-6)</c> of each
    /// query's plane, the queries in parallel; the sum is PyTorch's cascade sum.
    /// </summary>
    internal static Dictionary<int, (InstanceMask Mask, PixelBox Box, float MaskScore)> InstancePlanes(in Mask2FormerLogits logits, IPlaneResizer resizer, int[] queries)
    {
        var maskPixels = logits.MaskHeight * logits.MaskWidth;
        var masks = new float[queries.Length * maskPixels];
        for (var i = 0; i < queries.Length; i++) logits.Mask(queries[i]).CopyTo(masks.AsSpan(i * maskPixels, maskPixels));
        var results = new (InstanceMask, PixelBox, float)[queries.Length];
        var pixels = resizer.PixelCount;
        void One(int i)
        {
            var buffer = System.Buffers.ArrayPool<float>.Shared.Rent(2 * pixels);
            try
            {
                var plane = buffer.AsSpan(0, pixels);
                var weighted = buffer.AsSpan(pixels, pixels);
                resizer.Upsample(masks.AsSpan(i * maskPixels, maskPixels), plane);
                var (mask, box) = PixelMath.PackPositive(plane, resizer.Height, resizer.Width);
                TorchFloat.PositiveSigmoid(plane, weighted);
                var sum = TorchFloat.CascadeSum(weighted);
                results[i] = (mask, box, sum / ((float)mask.Area + 1e-6f));
            }
            finally
            {
                System.Buffers.ArrayPool<float>.Shared.Return(buffer);
            }
        }
        if (queries.Length > 1 && (long)pixels * queries.Length >= 2 * PanopticArgMax.BandPixels) Parallel.For(0, queries.Length, One);
        else for (var i = 0; i < queries.Length; i++) One(i);
        var byQuery = new Dictionary<int, (InstanceMask, PixelBox, float)>(queries.Length);
        for (var i = 0; i < queries.Length; i++) byQuery[queries[i]] = results[i];
        return byQuery;
    }

    /// <summary>Semantic segmentation of one image (detectron2 <c>semantic_inference</c> and <c>sem_seg_postprocess</c>).</summary>
    /// <param name="logits">The model outputs for the image.</param>
    /// <param name="geometry">Padded input, image and output sizes.</param>
    /// <param name="options">Where the resize happens and whether to keep the soft scores; defaults when <see langword="null"/>.</param>
    /// <returns>The class map (argmax of the soft scores) at the output size.</returns>
    public static SemanticResult Semantic(in Mask2FormerLogits logits, ImageGeometry geometry, SemanticOptions? options = null)
    {
        options ??= new SemanticOptions();
        var probabilities = logits.ClassProbabilities();
        var classes = logits.NumClasses;
        var upsampler = new MaskUpsampler(logits.MaskHeight, logits.MaskWidth, geometry, options.PostProcessBeforeInference);
        int height = geometry.OutputHeight, width = geometry.OutputWidth;
        if (!options.IncludeScores)
        {
            // Only the class map is kept: the soft scores exist one band of rows at a time.
            var masks = logits.MaskLogits.ToArray();
            var queries = logits.NumQueries;
            var order = new SgemmOrder(upsampler.PixelCount, classes, queries);
            var map = new int[height * width];
            if (options.PostProcessBeforeInference)
            {
                ForEachBand(height, width, classes, (rowStart, rowEnd, band) =>
                {
                    SoftScoresRows(masks, queries, classes, probabilities, upsampler, order, rowStart, rowEnd, band);
                    ArgMaxClasses(band, classes, map.AsSpan(rowStart * width, (rowEnd - rowStart) * width));
                });
                return new SemanticResult(height, width, classes, PixelMath.Own(map), ImmutableArray<float>.Empty);
            }
            // The product at the padded size, then crop and resize of the scores, band by band: each
            // output band computes the padded-size rows it reads, one row at a time.
            var resize = new BilinearTaps(geometry.ImageHeight, geometry.ImageWidth, height, width);
            var paddedWidth = geometry.PaddedWidth;
            ForEachBand(height, width, classes, (rowStart, rowEnd, band) =>
            {
                var first = resize.Y0[rowStart];
                var rows = Math.Max(resize.Y0[rowEnd - 1], resize.Y1[rowEnd - 1]) - first + 1;
                var pool = System.Buffers.ArrayPool<float>.Shared;
                var padded = pool.Rent(classes * rows * paddedWidth);
                var row = pool.Rent(classes * paddedWidth);
                try
                {
                    for (var r = 0; r < rows; r++)
                    {
                        SoftScoresRows(masks, queries, classes, probabilities, upsampler, order, first + r, first + r + 1, row);
                        for (var c = 0; c < classes; c++)
                            row.AsSpan(c * paddedWidth, paddedWidth).CopyTo(padded.AsSpan((c * rows + r) * paddedWidth, paddedWidth));
                    }
                    var n = (rowEnd - rowStart) * width;
                    for (var c = 0; c < classes; c++)
                        TorchFloat.ResizeBilinearRows(padded.AsSpan(c * rows * paddedWidth, rows * paddedWidth), first, geometry.ImageWidth, paddedWidth,
                            band.Slice(c * n, n), rowStart, rowEnd, width, resize);
                    ArgMaxClasses(band, classes, map.AsSpan(rowStart * width, n));
                }
                finally
                {
                    pool.Return(padded);
                    pool.Return(row);
                }
            }, 1 << 21);
            return new SemanticResult(height, width, classes, PixelMath.Own(map), ImmutableArray<float>.Empty);
        }
        var soft = SoftScores(logits, probabilities, upsampler);
        if (options.PostProcessBeforeInference) return ToSemantic(soft, classes, height, width, options.IncludeScores);
        var taps = new BilinearTaps(geometry.ImageHeight, geometry.ImageWidth, height, width);
        var padded = upsampler.PixelCount;
        var resized = new float[classes * height * width];
        for (var c = 0; c < classes; c++)
            MaskUpsampler.CropResize(soft.AsSpan(c * padded, padded), geometry, resized.AsSpan(c * height * width, height * width), taps);
        return ToSemantic(resized, classes, height, width, includeScores: true);
    }

    private delegate void BandAction(int rowStart, int rowEnd, Span<float> scores);

    /// <summary>Class scores per band when the band's scores are revisited for every query (1 MiB).</summary>
    private const int CacheBand = 1 << 18;

    // Output rows in bands of at most `scores` class scores each (at least one row), in parallel when there are several.
    private static void ForEachBand(int height, int width, int classes, BandAction action, int scores = CacheBand)
    {
        var rows = Math.Max(1, scores / Math.Max(1, classes * width));
        var count = (height + rows - 1) / rows;
        void Band(int b)
        {
            var rowStart = b * rows;
            var rowEnd = Math.Min(height, rowStart + rows);
            var length = classes * (rowEnd - rowStart) * width;
            var buffer = System.Buffers.ArrayPool<float>.Shared.Rent(length);
            try
            {
                action(rowStart, rowEnd, buffer.AsSpan(0, length));
            }
            finally
            {
                System.Buffers.ArrayPool<float>.Shared.Return(buffer);
            }
        }
        if (count == 1) Band(0);
        else Parallel.For(0, count, Band);
    }

    /// <summary>einsum("qc,qhw->chw", softmax[:, :K], sigmoid(masks)) in the reference's accumulation order (<see cref="SgemmOrder"/>).</summary>
    internal static float[] SoftScores(in Mask2FormerLogits logits, float[] probabilities, IPlaneResizer resizer)
    {
        int classes = logits.NumClasses, queries = logits.NumQueries, pixels = resizer.PixelCount, width = resizer.Width;
        var soft = new float[classes * pixels];
        var order = new SgemmOrder(pixels, classes, queries);
        var masks = logits.MaskLogits.ToArray();
        // Bands small enough that their [K, n] scores stay in cache across all queries.
        ForEachBand(resizer.Height, width, classes, (rowStart, rowEnd, band) =>
        {
            var n = (rowEnd - rowStart) * width;
            SoftScoresRows(masks, queries, classes, probabilities, resizer, order, rowStart, rowEnd, band);
            for (var c = 0; c < classes; c++) band.Slice(c * n, n).CopyTo(soft.AsSpan(c * pixels + rowStart * width, n));
        }, CacheBand);
        return soft;
    }

    /// <summary>
    /// The soft scores of rows [<paramref name="rowStart"/>, <paramref name="rowEnd"/>) as <c>[K, rows · width]</c>
    /// in <paramref name="soft"/>; each pixel keeps the accumulation order of its place in the whole
    /// plane (<paramref name="order"/>), so bands give exactly the values of one whole-plane product.
    /// </summary>
    private static void SoftScoresRows(float[] masks, int queries, int classes, float[] probabilities, IPlaneResizer resizer, SgemmOrder order,
        int rowStart, int rowEnd, Span<float> soft)
    {
        var width = resizer.Width;
        var first = rowStart * width;
        var n = (rowEnd - rowStart) * width;
        var maskPixels = masks.Length / queries;
        // The two-set ranges of each class, clipped to the band and made relative to it.
        var ranges = new List<(int Start, int End)>[classes];
        var covered = new int[classes];
        var twoSet = 0;
        for (var c = 0; c < classes; c++)
        {
            ranges[c] = new List<(int, int)>();
            covered[c] = order.TwoSetRowsIn(c, first, n, ranges[c]);
            twoSet += covered[c];
        }
        soft = soft[..(classes * n)];
        soft.Clear();
        var blocks = order.QueryBlocks;
        var pool = System.Buffers.ArrayPool<float>.Shared;
        var plane = pool.Rent(n);
        var second = pool.Rent(Math.Max(1, twoSet));
        var partial = blocks.Count > 1 ? pool.Rent(classes * n) : null;
        try
        {
            foreach (var (start, length) in blocks)
            {
                var target = partial is null ? soft : partial.AsSpan(0, classes * n);
                target.Clear();
                second.AsSpan(0, twoSet).Clear();
                for (var j = 0; j < length; j++)
                {
                    var q = start + j;
                    var values = plane.AsSpan(0, n);
                    resizer.UpsampleRows(masks.AsSpan(q * maskPixels, maskPixels), rowStart, rowEnd, values);
                    TorchFloat.SigmoidInPlace(values);
                    var toSecond = SgemmOrder.SecondSet(j, length);
                    var offset = 0;
                    for (var c = 0; c < classes; c++)
                    {
                        var weight = probabilities[q * (classes + 1) + c];
                        var t = target.Slice(c * n, n);
                        if (!toSecond)
                        {
                            FusedMultiplyAdd(weight, values, t);
                            offset += covered[c];
                            continue;
                        }
                        var from = 0;
                        foreach (var (a, b) in ranges[c])
                        {
                            FusedMultiplyAdd(weight, values[from..a], t[from..a]);
                            FusedMultiplyAdd(weight, values[a..b], second.AsSpan(offset, b - a));
                            offset += b - a;
                            from = b;
                        }
                        FusedMultiplyAdd(weight, values[from..], t[from..]);
                    }
                }
                // The two sets are added (second + first), then the block's sum goes into C = acc · 1 + C.
                var o = 0;
                for (var c = 0; c < classes; c++)
                {
                    var t = target.Slice(c * n, n);
                    foreach (var (a, b) in ranges[c])
                        for (var p = a; p < b; p++) t[p] = second[o++] + t[p];
                }
                if (partial is not null)
                    for (var i = 0; i < classes * n; i++) soft[i] = partial[i] + soft[i];
            }
        }
        finally
        {
            pool.Return(plane);
            pool.Return(second);
            if (partial is not null) pool.Return(partial);
        }
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static void FusedMultiplyAdd(float weight, ReadOnlySpan<float> values, Span<float> target)
    {
        var w = new Vector<float>(weight);
        var p = 0;
        for (; p + Vector<float>.Count <= values.Length; p += Vector<float>.Count)
            Vector.FusedMultiplyAdd(w, new Vector<float>(values[p..]), new Vector<float>(target[p..])).CopyTo(target[p..]);
        for (; p < values.Length; p++) target[p] = MathF.FusedMultiplyAdd(weight, values[p], target[p]);
    }

    internal static SemanticResult ToSemantic(float[] soft, int classes, int height, int width, bool includeScores)
    {
        var map = new int[height * width];
        ArgMaxClasses(soft, classes, map);
        return new SemanticResult(height, width, classes, PixelMath.Own(map), includeScores ? PixelMath.Own(soft) : ImmutableArray<float>.Empty);
    }

    /// <summary>The class of every pixel of <c>[K, n]</c> scores (first of equal maxima, first NaN wins, as <c>argmax(0)</c>).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static void ArgMaxClasses(ReadOnlySpan<float> soft, int classes, Span<int> map)
    {
        var pixels = map.Length;
        for (var p = 0; p < pixels; p++)
        {
            var best = 0;
            var bestValue = soft[p];
            for (var c = 1; c < classes; c++)
            {
                var value = soft[c * pixels + p];
                if (PixelMath.Replaces(value, bestValue))
                {
                    best = c;
                    bestValue = value;
                }
            }
            map[p] = best;
        }
    }

    internal static HashSet<int> ThingSet(IReadOnlyCollection<int>? thingClasses, int numClasses, string name)
    {
        var set = new HashSet<int>();
        if (thingClasses is null) return set;
        foreach (var c in thingClasses)
        {
            if (c < 0 || c >= numClasses)
                throw new ArgumentException($"Thing class {c} is outside the model's classes 0 … {numClasses - 1}.", name);
            set.Add(c);
        }
        return set;
    }
}
