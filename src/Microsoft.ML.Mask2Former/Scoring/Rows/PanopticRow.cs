using Microsoft.ML.Data;
using Microsoft.ML.Mask2Former.Data;

namespace Microsoft.ML.Mask2Former.Scoring;

/// <summary>Panoptic output columns (see <see cref="PanopticColumnNames"/>).</summary>
internal sealed class PanopticRow
{
    [ColumnName(PanopticColumnNames.ImageHeight)]
    public int ImageHeight { get; set; }

    [ColumnName(PanopticColumnNames.ImageWidth)]
    public int ImageWidth { get; set; }

    [ColumnName(PanopticColumnNames.PredictedSegmentMap)]
    public uint[] SegmentMap { get; set; } = [];

    [ColumnName(PanopticColumnNames.PredictedSegmentIds)]
    public uint[] SegmentIds { get; set; } = [];

    [ColumnName(PanopticColumnNames.PredictedCategoryIds)]
    public int[] CategoryIds { get; set; } = [];

    [ColumnName(PanopticColumnNames.PredictedIsThing)]
    public bool[] IsThing { get; set; } = [];

    [ColumnName(PanopticColumnNames.PredictedScores)]
    public float[] Scores { get; set; } = [];

    [ColumnName(PanopticColumnNames.PredictedAreas)]
    public long[] Areas { get; set; } = [];

    [ColumnName(PanopticColumnNames.PredictedBoxes)]
    public float[] Boxes { get; set; } = [];
}
