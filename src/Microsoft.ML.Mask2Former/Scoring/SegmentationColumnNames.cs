namespace Microsoft.ML.Mask2Former.Scoring;

/// <summary>
/// The columns the Mask2Former scoring estimators add (each after
/// <see cref="SegmentationOptions.OutputColumnPrefix"/>). Per-segment and per-instance columns are
/// parallel vectors; boxes hold four numbers per entry (x, y, width, height in pixels, the box of
/// the mask's pixels). The intermediate columns (<c>m2f.*</c>, <c>pixel_values</c> and the two
/// logit columns) stay in the output like those of other ML.NET image pipelines.
/// </summary>
public static class SegmentationColumnNames
{
    /// <summary>Rows of the original image (int).</summary>
    public const string ImageHeight = "ImageHeight";

    /// <summary>Columns of the original image (int).</summary>
    public const string ImageWidth = "ImageWidth";

    /// <summary>Panoptic: the segment id of every pixel (uint32, row-major, original size; 0 = no segment).</summary>
    public const string SegmentMap = "SegmentMap";

    /// <summary>Panoptic: segment ids (uint32, consecutive from 1).</summary>
    public const string SegmentIds = "SegmentIds";

    /// <summary>Panoptic: category id of each segment (int, from the label set).</summary>
    public const string SegmentCategoryIds = "SegmentCategoryIds";

    /// <summary>Panoptic: whether each segment is a thing (bool).</summary>
    public const string SegmentIsThing = "SegmentIsThing";

    /// <summary>Panoptic: class probability of each segment's first query (float).</summary>
    public const string SegmentScores = "SegmentScores";

    /// <summary>Panoptic: pixels of each segment (long).</summary>
    public const string SegmentAreas = "SegmentAreas";

    /// <summary>Panoptic: box of each segment, 4 floats per segment.</summary>
    public const string SegmentBoxes = "SegmentBoxes";

    /// <summary>Instances: category id of each instance (int).</summary>
    public const string InstanceCategoryIds = "InstanceCategoryIds";

    /// <summary>Instances: score (class probability × mean mask probability) of each instance (float).</summary>
    public const string InstanceScores = "InstanceScores";

    /// <summary>Instances: pixels of each mask (long).</summary>
    public const string InstanceAreas = "InstanceAreas";

    /// <summary>Instances: box of each mask, 4 floats per instance.</summary>
    public const string InstanceBoxes = "InstanceBoxes";

    /// <summary>Instances: each mask as a compressed COCO RLE string (the <c>counts</c> of pycocotools, size = the image's).</summary>
    public const string InstanceMasks = "InstanceMasks";

    /// <summary>Semantic: the class index (logit index 0 … K−1) of every pixel (uint32, row-major, original size).</summary>
    public const string ClassMap = "ClassMap";
}
