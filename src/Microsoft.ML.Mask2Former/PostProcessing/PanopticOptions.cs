namespace Microsoft.ML.Mask2Former.PostProcessing;

/// <summary>Options of detectron2-exact panoptic post-processing (<see cref="Mask2FormerPostProcessor.Panoptic"/>).</summary>
public sealed class PanopticOptions
{
    /// <summary>
    /// A query is kept when its best class is not "no object" and its probability is strictly
    /// greater than this (compared in float32, as PyTorch does). Default 0.8
    /// (<c>MODEL.MASK_FORMER.TEST.OBJECT_MASK_THRESHOLD</c>).
    /// </summary>
    public double ObjectMaskThreshold { get; set; } = 0.8;

    /// <summary>
    /// A kept query becomes (part of) a segment unless its visible area divided by its own area
    /// (sigmoid ≥ 0.5) is below this; a ratio equal to it passes. Default 0.8
    /// (<c>MODEL.MASK_FORMER.TEST.OVERLAP_THRESHOLD</c>).
    /// </summary>
    public double OverlapThreshold { get; set; } = 0.8;

    /// <summary>
    /// The class indices (0 … K−1) that are things; every other class is stuff, and all queries
    /// of one stuff class merge into one segment. Default empty (everything is stuff): set it
    /// from the dataset (detectron2 <c>thing_dataset_id_to_contiguous_id.values()</c>).
    /// </summary>
    public IReadOnlyCollection<int> ThingClasses { get; set; } = Array.Empty<int>();
}
