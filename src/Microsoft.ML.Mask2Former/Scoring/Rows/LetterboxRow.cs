using Microsoft.ML.Data;

namespace Microsoft.ML.Mask2Former.Scoring;

/// <summary>Input row of the letterbox step (internal to the scoring pipeline).</summary>
internal sealed class LetterboxRow
{
    /// <summary>Interleaved RGB bytes.</summary>
    [ColumnName(ScoringColumns.Rgb)]
    public byte[] Rgb { get; set; } = [];

    /// <summary>Original height and width.</summary>
    [ColumnName(ScoringColumns.Size)]
    public double[] Size { get; set; } = [];

    /// <summary>Settings vector.</summary>
    [ColumnName(ScoringColumns.Config)]
    public double[] Config { get; set; } = [];
}
