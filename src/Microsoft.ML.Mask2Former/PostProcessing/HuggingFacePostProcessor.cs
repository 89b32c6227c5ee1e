using System.Collections.Immutable;
using Microsoft.ML.Mask2Former.ReferenceArithmetic;

namespace Microsoft.ML.Mask2Former.PostProcessing;

/// <summary>
/// Hugging Face compatibility mode: reproduces <c>Mask2FormerImageProcessor</c>'s
/// <c>post_process_semantic_segmentation</c>, <c>post_process_instance_segmentation</c> and
/// <c>post_process_panoptic_segmentation</c> (transformers 4.48, PyTorch 1.13 CPU) exactly. It
/// differs from <see cref="Mask2FormerPostProcessor"/> (the original detectron2 behaviour, this
/// project's default): mask logits are first resized to 384×384, panoptic keeps a segment only
/// when its area ratio is strictly above the threshold, measures a query's own area on
/// score-weighted probabilities, paints the whole argmax region, merges only
/// <see cref="HuggingFaceOptions.LabelIdsToFuse"/>, and returns a −1 map when nothing is kept.
/// NaN and infinite logits follow the same PyTorch float rules as <see cref="Mask2FormerPostProcessor"/>.
/// </summary>
public static class HuggingFacePostProcessor
{
    /// <summary><c>post_process_semantic_segmentation</c> for one image.</summary>
    public static SemanticResult Semantic(in Mask2FormerLogits logits, HuggingFaceOptions? options = null)
    {
        options ??= new HuggingFaceOptions();
        var resizer = Resizer(logits, options);
        var probabilities = logits.ClassProbabilities();
        var soft = Mask2FormerPostProcessor.SoftScores(logits, probabilities, resizer);
        var (height, width) = (resizer.Height, resizer.Width);
        if (options.TargetSize is { } target)
        {
            var taps = new BilinearTaps(height, width, target.Height, target.Width);
            var resized = new float[logits.NumClasses * target.Height * target.Width];
            for (var c = 0; c < logits.NumClasses; c++)
                TorchFloat.ResizeBilinear(soft.AsSpan(c * height * width, height * width), height, width, width,
                    resized.AsSpan(c * target.Height * target.Width, target.Height * target.Width), target.Height, target.Width, taps);
            (soft, height, width) = (resized, target.Height, target.Width);
        }
        return Mask2FormerPostProcessor.ToSemantic(soft, logits.NumClasses, height, width, includeScores: false);
    }

    /// <summary><c>post_process_panoptic_segmentation</c> for one image.</summary>
    public static HuggingFaceSegmentation Panoptic(in Mask2FormerLogits logits, HuggingFaceOptions? options = null)
    {
        options ??= new HuggingFaceOptions();
        var resizer = Resizer(logits, options);
        var (height, width) = options.TargetSize ?? (resizer.Height, resizer.Width);
        var probabilities = logits.ClassProbabilities();
        var classes = logits.NumClasses;
        var threshold = (float)options.Threshold;
        var kept = new List<(int Query, float Score, int Label)>();
        for (var q = 0; q < logits.NumQueries; q++)
        {
            var row = probabilities.AsSpan(q * (classes + 1), classes + 1);
            var label = PixelMath.ArgMax(row);
            if (label != classes && row[label] > threshold) kept.Add((q, row[label], label));
        }
        var pixels = height * width;
        var map = new int[pixels];
        if (kept.Count == 0)
        {
            map.AsSpan().Fill(-1);
            return new HuggingFaceSegmentation(height, width, PixelMath.Own(map), true, ImmutableArray<HuggingFaceSegment>.Empty);
        }

        var native = new float[resizer.PixelCount];
        var taps = options.TargetSize is null ? null : new BilinearTaps(resizer.Height, resizer.Width, height, width);
        var probs = new float[kept.Count][];
        for (var k = 0; k < kept.Count; k++)
        {
            resizer.Upsample(logits.Mask(kept[k].Query), native);
            TorchFloat.SigmoidInPlace(native);
            var plane = new float[pixels];
            if (taps is null) native.CopyTo(plane, 0);
            else TorchFloat.ResizeBilinear(native, resizer.Height, resizer.Width, resizer.Width, plane, height, width, taps);
            var score = kept[k].Score;
            for (var p = 0; p < pixels; p++) plane[p] *= score;
            probs[k] = plane;
        }

        var owner = new int[pixels];
        var ownerArea = new long[kept.Count];
        for (var p = 0; p < pixels; p++)
        {
            var best = 0;
            for (var k = 1; k < kept.Count; k++)
                if (PixelMath.Replaces(probs[k][p], probs[best][p])) best = k;
            owner[p] = best;
            ownerArea[best]++;
        }

        var maskThreshold = (float)options.MaskThreshold;
        var fuse = new HashSet<int>(options.LabelIdsToFuse ?? Array.Empty<int>());
        var memory = new Dictionary<int, int>();
        var segments = ImmutableArray.CreateBuilder<HuggingFaceSegment>();
        var paint = new int[kept.Count];
        var current = 0;
        for (var k = 0; k < kept.Count; k++)
        {
            var (_, score, label) = kept[k];
            var shouldFuse = fuse.Contains(label);
            long original = 0;
            foreach (var v in probs[k]) if (v >= maskThreshold) original++;
            if (!(ownerArea[k] > 0 && original > 0)) continue;
            // PyTorch divides the two int64 counts in float32, then compares as a double.
            var ratio = (float)ownerArea[k] / (float)original;
            if (!((double)ratio > options.OverlapMaskAreaThreshold)) continue;
            if (memory.TryGetValue(label, out var remembered)) current = remembered;
            else current++;
            paint[k] = current;
            segments.Add(new HuggingFaceSegment(current, label, shouldFuse, score));
            if (shouldFuse) memory[label] = current;
        }
        for (var p = 0; p < pixels; p++)
        {
            var id = paint[owner[p]];
            if (id != 0) map[p] = id;
        }
        return new HuggingFaceSegmentation(height, width, PixelMath.Own(map), false, segments.ToImmutable());
    }

    /// <summary><c>post_process_instance_segmentation</c> for one image (no COCO RLE, no binary maps).</summary>
    public static HuggingFaceSegmentation Instances(in Mask2FormerLogits logits, HuggingFaceOptions? options = null)
    {
        options ??= new HuggingFaceOptions();
        var resizer = Resizer(logits, options);
        var (height, width) = options.TargetSize ?? (resizer.Height, resizer.Width);
        var probabilities = logits.ClassProbabilities();
        var classes = logits.NumClasses;
        var flat = new float[logits.NumQueries * classes];
        for (var q = 0; q < logits.NumQueries; q++)
            probabilities.AsSpan(q * (classes + 1), classes).CopyTo(flat.AsSpan(q * classes, classes));
        var top = TorchTopK.Indices(flat, Math.Min(logits.NumQueries, flat.Length), sorted: false);

        var map = new int[height * width];
        map.AsSpan().Fill(-1);
        var segments = ImmutableArray.CreateBuilder<HuggingFaceSegment>();
        var plane = new float[resizer.PixelCount];
        var weighted = new float[resizer.PixelCount];
        var rows = new int[height];
        var columns = new int[width];
        for (var y = 0; y < height; y++) rows[y] = TorchFloat.NearestIndex(y, resizer.Height, height);
        for (var x = 0; x < width; x++) columns[x] = TorchFloat.NearestIndex(x, resizer.Width, width);
        var current = 0;
        foreach (var index in top)
        {
            var query = index / classes;
            resizer.Upsample(logits.Mask(query), plane);
            long count = 0;
            foreach (var v in plane) if (v > 0f) count++;
            TorchFloat.PositiveSigmoid(plane, weighted);
            var sum = TorchFloat.CascadeSum(weighted);
            var score = flat[index] * (sum / ((float)count + 1e-6f));
            if (!((double)score >= options.Threshold)) continue;
            var any = false;
            for (var y = 0; y < height && !any; y++)
                for (var x = 0; x < width; x++)
                    if (plane[rows[y] * resizer.Width + columns[x]] > 0f) { any = true; break; }
            if (!any) continue;
            for (var y = 0; y < height; y++)
                for (var x = 0; x < width; x++)
                    if (plane[rows[y] * resizer.Width + columns[x]] > 0f) map[y * width + x] = current;
            segments.Add(new HuggingFaceSegment(current, index % classes, false, score));
            current++;
        }
        return new HuggingFaceSegmentation(height, width, PixelMath.Own(map), true, segments.ToImmutable());
    }

    private static FixedSizeResizer Resizer(in Mask2FormerLogits logits, HuggingFaceOptions options)
    {
        if (options.ResizeSize < 1) throw new ArgumentException($"ResizeSize must be positive; found {options.ResizeSize}.", nameof(options));
        if (options.TargetSize is { } t && (t.Height < 1 || t.Width < 1))
            throw new ArgumentException($"TargetSize must be positive; found {t.Height}×{t.Width}.", nameof(options));
        return new FixedSizeResizer(logits.MaskHeight, logits.MaskWidth, options.ResizeSize, options.ResizeSize);
    }

    private sealed class FixedSizeResizer(int maskHeight, int maskWidth, int height, int width) : IPlaneResizer
    {
        private readonly BilinearTaps _taps = new(maskHeight, maskWidth, height, width);

        public int Height => height;

        public int Width => width;

        public int PixelCount => height * width;

        public void Upsample(ReadOnlySpan<float> logits, Span<float> destination) =>
            TorchFloat.ResizeBilinear(logits, maskHeight, maskWidth, maskWidth, destination, height, width, _taps);

        public void UpsampleRows(ReadOnlySpan<float> logits, int rowStart, int rowEnd, Span<float> destination) =>
            TorchFloat.ResizeBilinearRows(logits, 0, maskWidth, maskWidth, destination, rowStart, rowEnd, width, _taps);
    }
}
