using Microsoft.ML.Data;

namespace Microsoft.ML.Mask2Former.Scoring;

/// <summary>Output row of the letterbox step (internal to the scoring pipeline).</summary>
internal sealed class PixelValuesRow
{
    /// <summary>The normalised [1, 3, H, W] model input.</summary>
    [ColumnName(ScoringColumns.PixelValues)]
    public float[] PixelValues { get; set; } = [];
}
