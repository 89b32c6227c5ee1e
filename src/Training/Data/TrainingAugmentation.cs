using Microsoft.ML.Mask2Former.Scoring;

namespace Microsoft.ML.Mask2Former.Training.Data;

/// <summary>
/// Geometry and normalisation of training examples: large-scale jitter, the seed's multi-scale
/// resize and crop, or plain resize, flip,
/// antialiased bilinear photo resampling (the scoring pipeline's own resize) and nearest-neighbour
/// segment maps, computed straight into the output crop (a 2× scale never materialises the whole
/// enlarged image).
/// </summary>
internal sealed class TrainingAugmentation
{
    public required ImageResizeMode Mode { get; init; }

    public required int Size { get; init; }

    public double MinScale { get; init; } = 0.1;

    public double MaxScale { get; init; } = 2.0;

    public double FlipProbability { get; init; } = 0.5;

    public required IReadOnlyList<double> PixelMean { get; init; }

    public required IReadOnlyList<double> PixelStd { get; init; }

    /// <summary>Augments <paramref name="image"/> with the random numbers of <paramref name="random"/>.</summary>
    public TrainingExample Apply(PanopticTrainingImage image, Random random)
    {
        var flip = random.NextDouble() < FlipProbability;
        int h = image.Height, w = image.Width;
        int nh, nw, outH, outW, top = 0, left = 0;
        if (Mode == ImageResizeMode.LargeScaleJitter)
        {
            var scale = MinScale + (MaxScale - MinScale) * random.NextDouble();
            var factor = Math.Min(Size * scale / h, Size * scale / w);
            nh = Math.Max(1, (int)Math.Round(h * factor));
            nw = Math.Max(1, (int)Math.Round(w * factor));
            outH = outW = Size;
            top = random.Next(0, Math.Max(0, nh - Size) + 1);
            left = random.Next(0, Math.Max(0, nw - Size) + 1);
        }
        else if (Mode == ImageResizeMode.MultiScale)
        {
            (nh, nw, top, left, outH, outW) = MultiScaleGeometry(h, w, random);
        }
        else
        {
            // The scoring pipeline's letterbox geometry, so a model trained this way sees images as it will be scored.
            (nh, nw) = ImagePreprocessor.LetterboxSize(h, w, Size, Size);
            outH = nh;
            outW = nw;
        }
        return Resample(image, nh, nw, top, left, outH, outW, flip);
    }

    /// <summary>The longest edge of <see cref="ImageResizeMode.MultiScale"/>'s resizes.</summary>
    internal const int MultiScaleMaxEdge = 1333;

    /// <summary>The crop's side range of <see cref="ImageResizeMode.MultiScale"/> (mmdet's <c>absolute_range</c> crop).</summary>
    internal const int CropMin = 384, CropMax = 600;

    /// <summary>The shortest edges of <see cref="ImageResizeMode.MultiScale"/>'s resize before its crop.</summary>
    internal static readonly int[] CropStageEdges = [400, 500, 600];

    /// <summary>One of the shortest edges 480, 512, …, 800.</summary>
    internal static int MultiScaleEdge(Random random) => 480 + 32 * random.Next(11);

    /// <summary>
    /// The size with the shortest edge at <paramref name="edge"/> and the longest at most
    /// <see cref="MultiScaleMaxEdge"/>, keeping the aspect ratio (mmdet's <c>keep_ratio</c> rescale, rounded half up).
    /// </summary>
    internal static (int Height, int Width) ShortestEdge(int h, int w, int edge)
    {
        var factor = Math.Min((double)edge / Math.Min(h, w), (double)MultiScaleMaxEdge / Math.Max(h, w));
        return (Math.Max(1, (int)(h * factor + 0.5)), Math.Max(1, (int)(w * factor + 0.5)));
    }

    /// <summary>
    /// The resize, crop window and output size of <see cref="ImageResizeMode.MultiScale"/> for an
    /// <paramref name="h"/>×<paramref name="w"/> image: the whole resized image, or a crop of it.
    /// </summary>
    internal static (int Height, int Width, int Top, int Left, int OutHeight, int OutWidth) MultiScaleGeometry(int h, int w, Random random)
    {
        const int LongEdge = 1333;
        static int ShortEdge(Random random) => 480 + 32 * random.Next(0, 11);
        // mmdetection's keep-ratio rescale: the largest factor that fits (short, 1333), sizes rounded half up.
        static double Factor(int h, int w, int shortEdge) => Math.Min((double)LongEdge / Math.Max(h, w), (double)shortEdge / Math.Min(h, w));
        static int Scaled(int size, double factor) => Math.Max(1, (int)(size * factor + 0.5));

        if (random.NextDouble() < 0.5)
        {
            var f = Factor(h, w, ShortEdge(random));
            int rh = Scaled(h, f), rw = Scaled(w, f);
            return (rh, rw, 0, 0, rh, rw);
        }
        var f1 = Factor(h, w, new[] { 400, 500, 600 }[random.Next(0, 3)]);
        int h1 = Scaled(h, f1), w1 = Scaled(w, f1);
        var cropH = random.Next(Math.Min(h1, 384), Math.Min(h1, 600) + 1);
        var cropW = random.Next(Math.Min(w1, 384), Math.Min(w1, 600) + 1);
        var top1 = random.Next(0, h1 - cropH + 1);
        var left1 = random.Next(0, w1 - cropW + 1);
        var f2 = Factor(cropH, cropW, ShortEdge(random));
        int nh = Scaled(h1, f2), nw = Scaled(w1, f2);
        int top = Math.Min(nh - 1, (int)(top1 * f2 + 0.5)), left = Math.Min(nw - 1, (int)(left1 * f2 + 0.5));
        return (nh, nw, top, left, Math.Min(Scaled(cropH, f2), nh - top), Math.Min(Scaled(cropW, f2), nw - left));
    }

    /// <summary>
    /// The photo resized to <paramref name="nh"/>×<paramref name="nw"/> by the scoring pipeline's
    /// antialiased resize (as detectron2's augmentations resize with PIL), cropped and normalised;
    /// the segment map resized by nearest neighbour, as detectron2 resizes segmentation maps.
    /// </summary>
    private TrainingExample Resample(PanopticTrainingImage image, int nh, int nw, int top, int left, int outH, int outW, bool flip)
    {
        int h = image.Height, w = image.Width;
        var plane = outH * outW;
        var pixels = new float[3 * plane];
        // Padding is 0 after normalisation (the mean colour), as detectron2 pads normalised images.
        ImagePreprocessor.ResizeCropNormalize(image.Rgb, h, w, nh, nw, top, left, flip, pixels, outH, outW,
            PixelMean.Select(v => v / 255.0).ToArray(), PixelStd.Select(v => v / 255.0).ToArray());

        var index = new int[plane];
        Array.Fill(index, -1);
        var sy = (double)h / nh;
        var sx = (double)w / nw;
        var validH = Math.Min(outH, nh - top);
        var validW = Math.Min(outW, nw - left);
        var xn = new int[validW];
        for (var x = 0; x < validW; x++)
        {
            var near = Math.Clamp((int)Math.Floor((x + left + 0.5) * sx), 0, w - 1);
            xn[x] = flip ? w - 1 - near : near;
        }
        for (var y = 0; y < validH; y++)
        {
            var rn = Math.Clamp((int)Math.Floor((y + top + 0.5) * sy), 0, h - 1) * w;
            for (var x = 0; x < validW; x++) index[y * outW + x] = image.SegmentIndex[rn + xn[x]];
        }

        // Segments the crop or the downscale removed are not targets.
        var present = new int[image.Labels.Length];
        foreach (var i in index) if (i >= 0) present[i]++;
        var remap = new int[image.Labels.Length];
        var labels = new List<int>();
        for (var i = 0; i < present.Length; i++)
        {
            remap[i] = present[i] > 0 ? labels.Count : -1;
            if (present[i] > 0) labels.Add(image.Labels[i]);
        }
        for (var p = 0; p < index.Length; p++) if (index[p] >= 0) index[p] = remap[index[p]];
        return new TrainingExample(image.ImageId, outH, outW, pixels, index, labels.ToArray());
    }
}
