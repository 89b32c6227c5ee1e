namespace Microsoft.ML.Mask2Former.Training.Losses;

/// <summary>
/// The ground truth of one image for the set loss: one class label and one binary mask per
/// segment (thing instance or stuff region). The caller owns (and disposes) both tensors.
/// </summary>
/// <remarks>
/// The masks cover the same area as the network input (the padded image): the matcher and the
/// criterion compare them with the predicted masks at normalised coordinates, so the two may
/// have different resolutions (the prediction is a quarter of the input size).
/// </remarks>
public sealed class SegmentationTarget
{
    /// <summary>Creates the target of one image.</summary>
    /// <param name="labels">Class indices [T] (int64, each in 0..K−1; never the "no object" index K).</param>
    /// <param name="masks">Binary masks [T, H, W] (float, bool or uint8; 1 inside the segment).</param>
    /// <exception cref="ArgumentException">The shapes or types do not fit together.</exception>
    public SegmentationTarget(Tensor labels, Tensor masks)
    {
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(masks);
        if (labels.dim() != 1 || labels.dtype != ScalarType.Int64)
            throw new ArgumentException($"labels must be a 1-D int64 tensor, got {labels.dtype} [{string.Join(", ", labels.shape)}]", nameof(labels));
        if (masks.dim() != 3 || masks.shape[0] != labels.shape[0] || masks.shape[1] < 1 || masks.shape[2] < 1)
            throw new ArgumentException($"masks must be [{labels.shape[0]}, H, W] (one per label), got [{string.Join(", ", masks.shape)}]", nameof(masks));
        Labels = labels;
        Masks = masks;
    }

    /// <summary>Class indices [T].</summary>
    public Tensor Labels { get; }

    /// <summary>Binary masks [T, H, W].</summary>
    public Tensor Masks { get; }

    /// <summary>The number of segments T.</summary>
    public int Count => (int)Labels.shape[0];
}
