using System.Collections.Immutable;

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
        var probabilities = logits.ClassProbabilities();
        var classes = logits.NumClasses;
        var width = classes + 1;
        var threshold = (float)options.ObjectMaskThreshold;

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
        var pixels = upsampler.PixelCount;
        var map = new int[pixels];
        if (kept.Count == 0)
            return new PanopticResult(upsampler.Height, upsampler.Width, PixelMath.Own(map), ImmutableArray<PanopticSegment>.Empty, ImmutableArray<int>.Empty);

        var sigmoids = new float[kept.Count][];
        for (var k = 0; k < kept.Count; k++)
        {
            var plane = new float[pixels];
            upsampler.Upsample(logits.Mask(kept[k]), plane);
            for (var p = 0; p < pixels; p++) plane[p] = TorchFloat.Sigmoid(plane[p]);
            sigmoids[k] = plane;
        }

        // ids = argmax_k(score_k · sigmoid_k); areas per kept query.
        var owner = new int[pixels];
        var maskArea = new long[kept.Count];
        var originalArea = new long[kept.Count];
        var visibleArea = new long[kept.Count];
        for (var p = 0; p < pixels; p++)
        {
            var best = 0;
            var bestValue = keptScores[0] * sigmoids[0][p];
            for (var k = 1; k < kept.Count; k++)
            {
                var value = keptScores[k] * sigmoids[k][p];
                if (PixelMath.Replaces(value, bestValue))
                {
                    best = k;
                    bestValue = value;
                }
            }
            owner[p] = best;
            maskArea[best]++;
            if (sigmoids[best][p] >= 0.5f) visibleArea[best]++;
        }
        for (var k = 0; k < kept.Count; k++)
        {
            long count = 0;
            foreach (var s in sigmoids[k]) if (s >= 0.5f) count++;
            originalArea[k] = count;
        }

        var segmentOf = new int[kept.Count];
        var stuffSegment = new Dictionary<int, int>();
        var created = new List<(int Category, bool IsThing, float Score, List<int> Queries)>();
        for (var k = 0; k < kept.Count; k++)
        {
            var label = keptLabels[k];
            var isThing = things.Contains(label);
            if (!(maskArea[k] > 0 && originalArea[k] > 0 && visibleArea[k] > 0)) continue;
            if ((double)maskArea[k] / originalArea[k] < options.OverlapThreshold) continue;
            if (!isThing && stuffSegment.TryGetValue(label, out var existing))
            {
                segmentOf[k] = existing;
                created[existing - 1].Queries.Add(kept[k]);
                continue;
            }
            created.Add((label, isThing, keptScores[k], new List<int> { kept[k] }));
            segmentOf[k] = created.Count;
            if (!isThing) stuffSegment[label] = created.Count;
        }

        for (var p = 0; p < pixels; p++)
        {
            var k = owner[p];
            if (segmentOf[k] != 0 && sigmoids[k][p] >= 0.5f) map[p] = segmentOf[k];
        }
        return new PanopticResult(upsampler.Height, upsampler.Width, PixelMath.Own(map),
            BuildSegments(map, upsampler.Height, upsampler.Width, created), [.. kept]);
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

        var upsampler = new MaskUpsampler(logits.MaskHeight, logits.MaskWidth, geometry, toOutput: true);
        var planes = new Dictionary<int, (InstanceMask Mask, PixelBox Box, float MaskScore)>();
        var instances = ImmutableArray.CreateBuilder<InstancePrediction>(top.Length);
        foreach (var index in top)
        {
            var query = index / classes;
            var label = index % classes;
            if (options.ThingClassesOnly && !things.Contains(label)) continue;
            if (!planes.TryGetValue(query, out var entry))
            {
                var plane = new float[upsampler.PixelCount];
                upsampler.Upsample(logits.Mask(query), plane);
                var (mask, box) = PixelMath.PackPositive(plane, upsampler.Height, upsampler.Width);
                var sum = TorchFloat.CascadeSum(new PositiveSigmoid(plane), plane.Length);
                var maskScore = sum / ((float)mask.Area + 1e-6f);
                entry = (mask, box, maskScore);
                planes[query] = entry;
            }
            var classScore = flat[index];
            instances.Add(new InstancePrediction(query, label, index, classScore, entry.MaskScore, classScore * entry.MaskScore, entry.Mask, entry.Box));
        }
        return new InstanceResult(upsampler.Height, upsampler.Width, instances.ToImmutable());
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
        var pixels = upsampler.PixelCount;
        var soft = SoftScores(logits, probabilities, upsampler);
        int height = upsampler.Height, width = upsampler.Width;
        if (!options.PostProcessBeforeInference)
        {
            var taps = new BilinearTaps(geometry.ImageHeight, geometry.ImageWidth, geometry.OutputHeight, geometry.OutputWidth);
            height = geometry.OutputHeight;
            width = geometry.OutputWidth;
            var resized = new float[classes * height * width];
            for (var c = 0; c < classes; c++)
                MaskUpsampler.CropResize(soft.AsSpan(c * pixels, pixels), geometry, resized.AsSpan(c * height * width, height * width), taps);
            soft = resized;
        }
        return ToSemantic(soft, classes, height, width, options.IncludeScores);
    }

    /// <summary>einsum("qc,qhw->chw", softmax[:, :K], sigmoid(masks)) in the reference's accumulation order (<see cref="SgemmOrder"/>).</summary>
    internal static float[] SoftScores(in Mask2FormerLogits logits, float[] probabilities, IPlaneResizer resizer)
    {
        var pixels = resizer.PixelCount;
        var classes = logits.NumClasses;
        var order = new SgemmOrder(pixels, classes, logits.NumQueries);
        var soft = new float[classes * pixels];
        var blocks = order.QueryBlocks;
        var partial = blocks.Count > 1 ? new float[classes * pixels] : null;
        var second = new float[order.TwoSetCount];
        var plane = new float[pixels];
        foreach (var (start, length) in blocks)
        {
            var target = partial ?? soft;
            if (partial is not null) Array.Clear(partial);
            Array.Clear(second);
            for (var j = 0; j < length; j++)
            {
                var q = start + j;
                resizer.Upsample(logits.Mask(q), plane);
                for (var p = 0; p < pixels; p++) plane[p] = TorchFloat.Sigmoid(plane[p]);
                var toSecond = SgemmOrder.SecondSet(j, length);
                var offset = 0;
                for (var c = 0; c < classes; c++)
                {
                    var weight = probabilities[q * (classes + 1) + c];
                    var t = target.AsSpan(c * pixels, pixels);
                    if (!toSecond)
                    {
                        FusedMultiplyAdd(weight, plane, t);
                        offset += Count(order.TwoSetRows(c));
                        continue;
                    }
                    var from = 0;
                    foreach (var (rowStart, rowEnd) in order.TwoSetRows(c))
                    {
                        FusedMultiplyAdd(weight, plane.AsSpan(from, rowStart - from), t.Slice(from, rowStart - from));
                        FusedMultiplyAdd(weight, plane.AsSpan(rowStart, rowEnd - rowStart), second.AsSpan(offset, rowEnd - rowStart));
                        offset += rowEnd - rowStart;
                        from = rowEnd;
                    }
                    FusedMultiplyAdd(weight, plane.AsSpan(from), t[from..]);
                }
            }
            // The two sets are added (second + first), then the block's sum goes into C = acc · 1 + C.
            var o = 0;
            for (var c = 0; c < classes; c++)
            {
                var t = target.AsSpan(c * pixels, pixels);
                foreach (var (rowStart, rowEnd) in order.TwoSetRows(c))
                    for (var p = rowStart; p < rowEnd; p++) t[p] = second[o++] + t[p];
            }
            if (partial is not null)
                for (var i = 0; i < soft.Length; i++) soft[i] = partial[i] + soft[i];
        }
        return soft;
    }

    private static int Count(IReadOnlyList<(int Start, int End)> ranges)
    {
        var n = 0;
        foreach (var (a, b) in ranges) n += b - a;
        return n;
    }

    private static void FusedMultiplyAdd(float weight, ReadOnlySpan<float> values, Span<float> target)
    {
        for (var p = 0; p < values.Length; p++) target[p] = MathF.FusedMultiplyAdd(weight, values[p], target[p]);
    }

    internal static SemanticResult ToSemantic(float[] soft, int classes, int height, int width, bool includeScores)
    {
        var pixels = height * width;
        var map = new int[pixels];
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
        return new SemanticResult(height, width, classes, PixelMath.Own(map), includeScores ? PixelMath.Own(soft) : ImmutableArray<float>.Empty);
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
