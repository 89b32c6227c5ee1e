using Microsoft.ML.Mask2Former.Data;

namespace Microsoft.ML.Mask2Former.Evaluation;

/// <summary>
/// What <c>mlContext.InstanceSegmentation().Evaluate</c> computes and which columns it reads. The
/// column defaults are the names of <see cref="PanopticColumnNames"/>, which <c>LoadFromCocoPanoptic</c>
/// and <c>SegmentInstances</c> write.
/// </summary>
public sealed class InstanceEvaluationOptions : GroundTruthColumnOptions
{
    /// <summary>Mask AP (<see cref="InstanceIouType.Segmentation"/>, the default) or box AP.</summary>
    public InstanceIouType IouType { get; set; } = InstanceIouType.Segmentation;

    /// <summary>Worker threads of the COCOeval computation (default: one per core).</summary>
    public int Threads { get; set; } = Environment.ProcessorCount;

    /// <summary>Ground-truth image height (Int32).</summary>
    public string HeightColumnName { get; set; } = PanopticColumnNames.Height;

    /// <summary>Ground-truth image width (Int32).</summary>
    public string WidthColumnName { get; set; } = PanopticColumnNames.Width;

    /// <summary>Predicted category ids (vector of Int32).</summary>
    public string PredictedCategoryIdsColumnName { get; set; } = PanopticColumnNames.PredictedInstanceCategoryIds;

    /// <summary>Predicted scores (vector of Single).</summary>
    public string PredictedScoresColumnName { get; set; } = PanopticColumnNames.PredictedInstanceScores;

    /// <summary>Predicted boxes, x, y, width, height per instance (vector of Single).</summary>
    public string PredictedBoxesColumnName { get; set; } = PanopticColumnNames.PredictedInstanceBoxes;

    /// <summary>Predicted masks as compressed COCO RLE strings at the image size (vector of text).</summary>
    public string PredictedMasksColumnName { get; set; } = PanopticColumnNames.PredictedInstanceMasks;
}
