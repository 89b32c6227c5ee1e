namespace Microsoft.ML.Mask2Former.Training.Data;

/// <summary>
/// Geometry and normalisation of training examples: large-scale jitter or plain resize, flip,
/// bilinear photo resampling and nearest-neighbour segment maps, computed straight into the
/// output crop (a 2× scale never materialises the whole enlarged image).
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
        double factor;
        if (Mode == ImageResizeMode.LargeScaleJitter)
        {
            var scale = MinScale + (MaxScale - MinScale) * random.NextDouble();
            factor = Math.Min(Size * scale / h, Size * scale / w);
        }
        else
        {
            factor = Math.Min((double)Size / h, (double)Size / w);
        }
        var nh = Math.Max(1, (int)Math.Round(h * factor));
        var nw = Math.Max(1, (int)Math.Round(w * factor));
        int outH, outW, top = 0, left = 0;
        if (Mode == ImageResizeMode.LargeScaleJitter)
        {
            outH = outW = Size;
            top = random.Next(0, Math.Max(0, nh - Size) + 1);
            left = random.Next(0, Math.Max(0, nw - Size) + 1);
        }
        else
        {
            outH = nh;
            outW = nw;
        }
        return Resample(image, nh, nw, top, left, outH, outW, flip);
    }

    /// <summary>Plain resize of a validation image (no randomness): the image fitted into size × size.</summary>
    public TrainingExample ResizeForValidation(PanopticTrainingImage image)
    {
        var factor = Math.Min((double)Size / image.Height, (double)Size / image.Width);
        var nh = Math.Max(1, (int)Math.Round(image.Height * factor));
        var nw = Math.Max(1, (int)Math.Round(image.Width * factor));
        return Resample(image, nh, nw, 0, 0, nh, nw, flip: false);
    }

    private TrainingExample Resample(PanopticTrainingImage image, int nh, int nw, int top, int left, int outH, int outW, bool flip)
    {
        int h = image.Height, w = image.Width;
        var plane = outH * outW;
        var pixels = new float[3 * plane];
        var index = new int[plane];
        Array.Fill(index, -1);
        var sy = (double)h / nh;
        var sx = (double)w / nw;
        var validH = Math.Min(outH, nh - top);
        var validW = Math.Min(outW, nw - left);

        // Per output column: the two source columns and the weight, and the nearest column.
        var x0 = new int[validW];
        var x1 = new int[validW];
        var fx = new float[validW];
        var xn = new int[validW];
        for (var x = 0; x < validW; x++)
        {
            var src = (x + left + 0.5) * sx - 0.5;
            var near = Math.Clamp((int)Math.Floor((x + left + 0.5) * sx), 0, w - 1);
            var lo = (int)Math.Floor(src);
            var f = src - lo;
            int a = Math.Clamp(lo, 0, w - 1), b = Math.Clamp(lo + 1, 0, w - 1);
            if (flip)
            {
                (a, b) = (w - 1 - a, w - 1 - b);
                near = w - 1 - near;
            }
            x0[x] = a;
            x1[x] = b;
            fx[x] = (float)f;
            xn[x] = near;
        }
        var mean = new float[3];
        var inv = new float[3];
        for (var c = 0; c < 3; c++)
        {
            mean[c] = (float)PixelMean[c];
            inv[c] = (float)(1.0 / PixelStd[c]);
        }
        // Padding is 0 after normalisation (the mean colour), as detectron2 pads normalised images.
        var rgb = image.Rgb;
        for (var y = 0; y < validH; y++)
        {
            var src = (y + top + 0.5) * sy - 0.5;
            var lo = (int)Math.Floor(src);
            var fy = (float)(src - lo);
            int r0 = Math.Clamp(lo, 0, h - 1) * w, r1 = Math.Clamp(lo + 1, 0, h - 1) * w;
            var rn = Math.Clamp((int)Math.Floor((y + top + 0.5) * sy), 0, h - 1) * w;
            for (var x = 0; x < validW; x++)
            {
                int p00 = 3 * (r0 + x0[x]), p01 = 3 * (r0 + x1[x]), p10 = 3 * (r1 + x0[x]), p11 = 3 * (r1 + x1[x]);
                var f = fx[x];
                var o = y * outW + x;
                for (var c = 0; c < 3; c++)
                {
                    var top0 = rgb[p00 + c] + (rgb[p01 + c] - rgb[p00 + c]) * f;
                    var bottom = rgb[p10 + c] + (rgb[p11 + c] - rgb[p10 + c]) * f;
                    var v = top0 + (bottom - top0) * fy;
                    pixels[c * plane + o] = (v - mean[c]) * inv[c];
                }
                index[o] = image.SegmentIndex[rn + xn[x]];
            }
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
