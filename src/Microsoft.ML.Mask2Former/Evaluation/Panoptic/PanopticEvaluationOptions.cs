using Microsoft.ML.Mask2Former.Data;

namespace Microsoft.ML.Mask2Former.Evaluation;

/// <summary>
/// The columns <c>mlContext.PanopticSegmentation().Evaluate</c> reads. The defaults are the names
/// of <see cref="PanopticColumnNames"/>, which <c>LoadFromCocoPanoptic</c> and <c>SegmentPanoptic</c>
/// write, so a pipeline built from them needs no options.
/// </summary>
public sealed class PanopticEvaluationOptions : GroundTruthColumnOptions
{
    /// <summary>Predicted segment-id map (vector of UInt32, the ground truth's size).</summary>
    public string PredictedSegmentMapColumnName { get; set; } = PanopticColumnNames.PredictedSegmentMap;

    /// <summary>Predicted segment ids (vector of UInt32).</summary>
    public string PredictedSegmentIdsColumnName { get; set; } = PanopticColumnNames.PredictedSegmentIds;

    /// <summary>Predicted category ids (vector of Int32).</summary>
    public string PredictedCategoryIdsColumnName { get; set; } = PanopticColumnNames.PredictedCategoryIds;
}
