namespace Microsoft.ML.Mask2Former.Evaluation;

/// <summary>The panoptic counts of one image, per category id, in the order the categories were first counted.</summary>
public sealed class PanopticImageStatistics
{
    internal PanopticImageStatistics(string imageId, IReadOnlyList<KeyValuePair<int, PanopticCounts>> perCategory)
    {
        ImageId = imageId;
        PerCategory = perCategory;
    }

    /// <summary>The image these counts belong to.</summary>
    public string ImageId { get; }

    /// <summary>Counts per category id (only categories that occurred in the image).</summary>
    public IReadOnlyList<KeyValuePair<int, PanopticCounts>> PerCategory { get; }
}
