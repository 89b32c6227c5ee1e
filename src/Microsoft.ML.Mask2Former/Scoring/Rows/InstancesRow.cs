using Microsoft.ML.Data;
using Microsoft.ML.Mask2Former.Data;

namespace Microsoft.ML.Mask2Former.Scoring;

/// <summary>Instance output columns (see <see cref="PanopticColumnNames"/>).</summary>
internal sealed class InstancesRow
{
    [ColumnName(PanopticColumnNames.ImageHeight)]
    public int ImageHeight { get; set; }

    [ColumnName(PanopticColumnNames.ImageWidth)]
    public int ImageWidth { get; set; }

    [ColumnName(PanopticColumnNames.PredictedInstanceCategoryIds)]
    public int[] CategoryIds { get; set; } = [];

    [ColumnName(PanopticColumnNames.PredictedInstanceScores)]
    public float[] Scores { get; set; } = [];

    [ColumnName(PanopticColumnNames.PredictedInstanceAreas)]
    public long[] Areas { get; set; } = [];

    [ColumnName(PanopticColumnNames.PredictedInstanceBoxes)]
    public float[] Boxes { get; set; } = [];

    [ColumnName(PanopticColumnNames.PredictedInstanceMasks)]
    public string[] Masks { get; set; } = [];
}
