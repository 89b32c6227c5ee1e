namespace Microsoft.ML.Mask2Former.Data;

/// <summary>
/// Default column names shared by the COCO panoptic loader, the scoring transforms and the
/// panoptic evaluator, so the pieces plug together without renaming.
/// </summary>
public static class PanopticColumnNames
{
    /// <summary>Image id (text).</summary>
    public const string ImageId = "ImageId";

    /// <summary>Path of the image file (text).</summary>
    public const string ImagePath = "ImagePath";

    /// <summary>Image width in pixels (Int32).</summary>
    public const string Width = "Width";

    /// <summary>Image height in pixels (Int32).</summary>
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

    /// <summary>Predicted segment-id map at the image's size (vector of UInt32).</summary>
    public const string PredictedSegmentMap = "PredictedSegmentMap";

    /// <summary>Predicted segment ids (vector of UInt32).</summary>
    public const string PredictedSegmentIds = "PredictedSegmentIds";

    /// <summary>Predicted segment category ids (vector of Int32).</summary>
    public const string PredictedCategoryIds = "PredictedCategoryIds";
}
