using Microsoft.ML.Data;

namespace Microsoft.ML.Mask2Former.Scoring;

/// <summary>Output row of the image-decoding step (internal to the scoring pipeline).</summary>
internal sealed class DecodedRow
{
    /// <summary>Interleaved RGB bytes.</summary>
    [ColumnName(ScoringColumns.Rgb)]
    public byte[] Rgb { get; set; } = [];

    /// <summary>Original height and width.</summary>
    [ColumnName(ScoringColumns.Size), VectorType(2)]
    public double[] Size { get; set; } = new double[2];
}
