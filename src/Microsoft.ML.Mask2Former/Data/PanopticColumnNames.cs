namespace Microsoft.ML.Mask2Former.Data;

/// <summary>
/// The one column contract of the library: the names the COCO panoptic loader
/// (<c>LoadFromCocoPanoptic</c>) writes, the scoring transforms (<c>SegmentPanoptic</c>,
/// <c>SegmentInstances</c>, <c>SegmentSemantic</c>) read and write, and the evaluators
/// (<c>PanopticSegmentation()</c>, <c>InstanceSegmentation()</c>, <c>SemanticSegmentation()</c>) read.
/// Ground truth and predictions never share a name, so
/// <c>LoadFromCocoPanoptic → LoadImages → SegmentPanoptic → Evaluate</c> needs no column argument.
/// </summary>
/// <remarks>
/// Per-segment and per-instance columns are parallel vectors. Boxes hold four numbers per entry
/// (x, y, width, height in pixels: the box of the mask's pixels). Category ids are the data set's
/// (COCO <c>category_id</c>, from the model's label set), never class indices.
/// </remarks>
public static class PanopticColumnNames
{
    /// <summary>Image id (text).</summary>
    public const string ImageId = "ImageId";

    /// <summary>Path of the image file (text); <c>LoadImages</c> reads it.</summary>
    public const string ImagePath = "ImagePath";

    /// <summary>The decoded image (<c>MLImage</c>, as <c>LoadImages</c> writes it); the scoring transforms read it.</summary>
    public const string Image = "Image";

    /// <summary>Image width in pixels, from the ground-truth JSON (Int32).</summary>
    public const string Width = "Width";

    /// <summary>Image height in pixels, from the ground-truth JSON (Int32).</summary>
    public const string Height = "Height";

    /// <summary>Path of the ground-truth segment-map PNG (text).</summary>
    public const string SegmentMapPath = "SegmentMapPath";

    /// <summary>Ground-truth segment-id map, row-major Height × Width, 0 = void (vector of UInt32).</summary>
    public const string SegmentMap = "SegmentMap";

    /// <summary>Ground-truth segment ids (vector of UInt32), parallel to the other segment columns.</summary>
    public const string SegmentIds = "SegmentIds";

    /// <summary>Ground-truth segment category ids (vector of Int32).</summary>
    public const string CategoryIds = "CategoryIds";

    /// <summary>Ground-truth crowd flags (vector of Boolean).</summary>
    public const string IsCrowd = "IsCrowd";

    /// <summary>Ground-truth segment areas from the JSON (vector of Int64; -1 where the JSON has none).</summary>
    public const string Areas = "Areas";

    /// <summary>Rows of the scored image, the size of every predicted map (Int32).</summary>
    public const string ImageHeight = "ImageHeight";

    /// <summary>Columns of the scored image (Int32).</summary>
    public const string ImageWidth = "ImageWidth";

    /// <summary>Panoptic: the predicted segment id of every pixel (vector of UInt32, row-major, image size; 0 = no segment).</summary>
    public const string PredictedSegmentMap = "PredictedSegmentMap";

    /// <summary>Panoptic: predicted segment ids (vector of UInt32, consecutive from 1).</summary>
    public const string PredictedSegmentIds = "PredictedSegmentIds";

    /// <summary>Panoptic: category id of each predicted segment (vector of Int32).</summary>
    public const string PredictedCategoryIds = "PredictedCategoryIds";

    /// <summary>Panoptic: whether each predicted segment is a thing (vector of Boolean).</summary>
    public const string PredictedIsThing = "PredictedIsThing";

    /// <summary>Panoptic: class probability of each segment's first query (vector of Single).</summary>
    public const string PredictedScores = "PredictedScores";

    /// <summary>Panoptic: pixels of each predicted segment (vector of Int64).</summary>
    public const string PredictedAreas = "PredictedAreas";

    /// <summary>Panoptic: box of each predicted segment, 4 numbers per segment (vector of Single).</summary>
    public const string PredictedBoxes = "PredictedBoxes";

    /// <summary>Instances: category id of each instance (vector of Int32).</summary>
    public const string PredictedInstanceCategoryIds = "PredictedInstanceCategoryIds";

    /// <summary>Instances: score (class probability × mean mask probability) of each instance (vector of Single).</summary>
    public const string PredictedInstanceScores = "PredictedInstanceScores";

    /// <summary>Instances: pixels of each mask (vector of Int64).</summary>
    public const string PredictedInstanceAreas = "PredictedInstanceAreas";

    /// <summary>Instances: box of each mask, 4 numbers per instance (vector of Single).</summary>
    public const string PredictedInstanceBoxes = "PredictedInstanceBoxes";

    /// <summary>Instances: each mask as a compressed COCO RLE string (pycocotools' <c>counts</c>; size = the image's) (vector of text).</summary>
    public const string PredictedInstanceMasks = "PredictedInstanceMasks";

    /// <summary>Semantic: the category id of every pixel (vector of UInt32, row-major, image size).</summary>
    public const string PredictedSemanticMap = "PredictedSemanticMap";
}
