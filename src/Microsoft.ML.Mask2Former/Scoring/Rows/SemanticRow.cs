using Microsoft.ML.Data;
using Microsoft.ML.Mask2Former.Data;

namespace Microsoft.ML.Mask2Former.Scoring;

/// <summary>Semantic output columns (see <see cref="PanopticColumnNames"/>).</summary>
internal sealed class SemanticRow
{
    [ColumnName(PanopticColumnNames.ImageHeight)]
    public int ImageHeight { get; set; }

    [ColumnName(PanopticColumnNames.ImageWidth)]
    public int ImageWidth { get; set; }

    [ColumnName(PanopticColumnNames.PredictedSemanticMap)]
    public uint[] SemanticMap { get; set; } = [];
}
