namespace Microsoft.ML.Mask2Former.Scoring;

/// <summary>The kind of segmentation a scoring pipeline produces.</summary>
public enum SegmentationTask
{
    /// <summary>Segment-id map and segments (things and merged stuff).</summary>
    Panoptic,

    /// <summary>Scored instance masks (COCO RLE) with boxes.</summary>
    Instances,

    /// <summary>A class per pixel.</summary>
    Semantic,
}
