namespace Microsoft.ML.Mask2Former.Scoring;

/// <summary>
/// Options of <see cref="Mask2FormerPredictor"/>. Besides the shared settings it holds the
/// full-resolution resize of dynamic-size models and the post-processing settings of all three tasks.
/// </summary>
public sealed class Mask2FormerPredictorOptions : SegmentationOptions
{
    /// <summary>Dynamic-size models: the shorter image side is resized to this. Default 800 (detectron2 <c>INPUT.MIN_SIZE_TEST</c>).</summary>
    public int ShortestEdge { get; set; } = 800;

    /// <summary>Dynamic-size models: the longer side is kept at most this. Default 1333 (<c>INPUT.MAX_SIZE_TEST</c>).</summary>
    public int MaxSize { get; set; } = 1333;

    /// <summary>Dynamic-size models: the input is padded (bottom/right) to a multiple of this. Default 32 (<c>SIZE_DIVISIBILITY</c>).</summary>
    public int SizeDivisibility { get; set; } = 32;

    /// <summary>Panoptic: see <see cref="SegmentPanopticOptions.ObjectMaskThreshold"/>.</summary>
    public double? ObjectMaskThreshold { get; set; }

    /// <summary>Panoptic: see <see cref="SegmentPanopticOptions.OverlapThreshold"/>.</summary>
    public double? OverlapThreshold { get; set; }

    /// <summary>Instances: see <see cref="SegmentInstancesOptions.TopK"/>. Default 100.</summary>
    public int TopK { get; set; } = 100;

    /// <summary>Instances: see <see cref="SegmentInstancesOptions.ThingClassesOnly"/>. Default <see langword="false"/>.</summary>
    public bool ThingClassesOnly { get; set; }

    /// <summary>Semantic: see <see cref="SegmentSemanticOptions.PostProcessBeforeInference"/>. Default <see langword="false"/>.</summary>
    public bool PostProcessBeforeInference { get; set; }

    /// <summary>
    /// Panoptic and instances: see <see cref="SegmentPanopticOptions.PostProcessing"/>. Semantic
    /// post-processing is always detectron2's (mmdetection 2.25's fusion head has none).
    /// </summary>
    public PostProcessingMode? PostProcessing { get; set; }

    /// <summary>Panoptic, mmdetection only: see <see cref="SegmentPanopticOptions.FilterLowScore"/>.</summary>
    public bool? FilterLowScore { get; set; }
}
