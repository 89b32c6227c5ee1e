namespace Microsoft.ML.Mask2Former.PostProcessing;

/// <summary>Options of detectron2-exact instance post-processing (<see cref="Mask2FormerPostProcessor.Instances"/>).</summary>
public sealed class InstanceOptions
{
    /// <summary>
    /// How many (query, class) pairs to keep, by class probability, with no threshold. Default 100
    /// (<c>TEST.DETECTIONS_PER_IMAGE</c>); values above Q·K keep every pair.
    /// </summary>
    public int TopK { get; set; } = 100;

    /// <summary>
    /// Keep only pairs whose class is in <see cref="ThingClasses"/> (detectron2 does this when
    /// panoptic inference is on as well). Default <see langword="false"/>.
    /// </summary>
    public bool ThingClassesOnly { get; set; }

    /// <summary>The thing class indices (0 … K−1), used by <see cref="ThingClassesOnly"/>. Default empty.</summary>
    public IReadOnlyCollection<int> ThingClasses { get; set; } = Array.Empty<int>();
}
