using Microsoft.ML.Mask2Former.Training.Losses;

namespace Microsoft.ML.Mask2Former.Training.Data;

/// <summary>
/// A batch ready for the network: normalised pixels padded (bottom and right) to one size
/// divisible by 32, and one target per image whose masks cover the padded area. Dispose it.
/// </summary>
public sealed class TrainingBatch : IDisposable
{
    private TrainingBatch(Tensor pixelValues, IReadOnlyList<SegmentationTarget> targets, IReadOnlyList<string> imageIds)
    {
        PixelValues = pixelValues;
        Targets = targets;
        ImageIds = imageIds;
    }

    /// <summary>The network input [B, 3, H, W].</summary>
    public Tensor PixelValues { get; }

    /// <summary>The ground truth of each image.</summary>
    public IReadOnlyList<SegmentationTarget> Targets { get; }

    /// <summary>The COCO image ids, in batch order.</summary>
    public IReadOnlyList<string> ImageIds { get; }

    /// <summary>The padding multiple of the batch size (the Swin and ResNet strides need 32).</summary>
    public const int SizeDivisibility = 32;

    /// <summary>Stacks <paramref name="examples"/>, padded to at least <paramref name="height"/> × <paramref name="width"/> (a larger batch's size).</summary>
    internal static TrainingBatch Create(IReadOnlyList<TrainingExample> examples, Device? device = null, int height = 0, int width = 0)
    {
        if (examples.Count == 0) throw new ArgumentException("a batch needs at least one example", nameof(examples));
        height = Math.Max(height, RoundUp(examples.Max(e => e.Height)));
        width = Math.Max(width, RoundUp(examples.Max(e => e.Width)));
        var plane = height * width;
        var pixels = new float[examples.Count * 3 * plane];
        var targets = new List<SegmentationTarget>(examples.Count);
        for (var b = 0; b < examples.Count; b++)
        {
            var e = examples[b];
            for (var c = 0; c < 3; c++)
                for (var y = 0; y < e.Height; y++)
                    e.Pixels.AsSpan(c * e.Height * e.Width + y * e.Width, e.Width).CopyTo(pixels.AsSpan((b * 3 + c) * plane + y * width, e.Width));
            var masks = new float[e.Labels.Length * plane];
            for (var y = 0; y < e.Height; y++)
            {
                for (var x = 0; x < e.Width; x++)
                {
                    var i = e.SegmentIndex[y * e.Width + x];
                    if (i >= 0) masks[i * plane + y * width + x] = 1f;
                }
            }
            var labels = tensor(e.Labels.Select(l => (long)l).ToArray(), [e.Labels.Length], ScalarType.Int64, device);
            var maskTensor = tensor(masks, [e.Labels.Length, height, width], ScalarType.Float32, device);
            targets.Add(new SegmentationTarget(labels.DetachFromDisposeScope(), maskTensor.DetachFromDisposeScope()));
        }
        var input = tensor(pixels, [examples.Count, 3, height, width], ScalarType.Float32, device).DetachFromDisposeScope();
        return new TrainingBatch(input, targets, examples.Select(e => e.ImageId).ToArray());
    }

    internal static int RoundUp(int value) => (value + SizeDivisibility - 1) / SizeDivisibility * SizeDivisibility;

    /// <inheritdoc/>
    public void Dispose()
    {
        PixelValues.Dispose();
        foreach (var t in Targets)
        {
            t.Labels.Dispose();
            t.Masks.Dispose();
        }
    }
}
