using Microsoft.ML.Mask2Former.Data;

namespace Microsoft.ML.Mask2Former.Evaluation;

/// <summary>
/// The columns <c>mlContext.SemanticSegmentation().Evaluate</c> reads. The defaults are the names
/// of <see cref="PanopticColumnNames"/>, which <c>LoadFromCocoPanoptic</c> and <c>SegmentSemantic</c>
/// write. Crowd flags and areas are not read: a crowd segment paints its category like any other.
/// </summary>
public sealed class SemanticEvaluationOptions : GroundTruthColumnOptions
{
    /// <summary>Predicted category id of every pixel (vector of UInt32, the ground truth's size).</summary>
    public string PredictedSemanticMapColumnName { get; set; } = PanopticColumnNames.PredictedSemanticMap;
}
