using Microsoft.ML.Data;

namespace Microsoft.ML.Mask2Former.Scoring;

/// <summary>Input row of the post-processing steps (internal to the scoring pipeline).</summary>
internal sealed class LogitsRow
{
    /// <summary>Class logits [1, Q, K+1].</summary>
    [ColumnName(ScoringColumns.ClassLogits)]
    public float[] ClassLogits { get; set; } = [];

    /// <summary>Mask logits [1, Q, h, w].</summary>
    [ColumnName(ScoringColumns.MaskLogits)]
    public float[] MaskLogits { get; set; } = [];

    /// <summary>Original height and width.</summary>
    [ColumnName(ScoringColumns.Size)]
    public double[] Size { get; set; } = [];

    /// <summary>Settings vector.</summary>
    [ColumnName(ScoringColumns.Config)]
    public double[] Config { get; set; } = [];

    /// <summary>Label ids and thing flags.</summary>
    [ColumnName(ScoringColumns.Labels)]
    public double[] Labels { get; set; } = [];
}
