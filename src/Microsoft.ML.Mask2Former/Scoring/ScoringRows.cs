using Microsoft.ML.Data;
using Microsoft.ML.Mask2Former.Data;
using Microsoft.ML.Transforms.Image;

namespace Microsoft.ML.Mask2Former.Scoring;

// The row types of the custom mappings inside the scoring pipelines. User code reads the columns
// by name (PanopticColumnNames), not through these classes.

/// <summary>Input row of the image-decoding step (internal to the scoring pipeline).</summary>
internal sealed class DecodeRow
{
    /// <summary>The image.</summary>
    [ColumnName(ScoringColumns.Image), UnsizedImageType]
    public MLImage? Image { get; set; }
}

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

/// <summary>Output row of the letterbox step (internal to the scoring pipeline).</summary>
internal sealed class PixelValuesRow
{
    /// <summary>The normalised [1, 3, H, W] model input.</summary>
    [ColumnName(ScoringColumns.PixelValues)]
    public float[] PixelValues { get; set; } = [];
}

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

/// <summary>A row with no columns (schema propagation only).</summary>
internal sealed class NoColumns
{
}

/// <summary>Names of the intermediate columns.</summary>
internal static class ScoringColumns
{
    public const string Image = "m2f.Image";
    public const string Rgb = "m2f.Rgb";
    public const string Size = "m2f.Size";
    public const string Config = "m2f.Config";
    public const string Labels = "m2f.Labels";
    public const string PixelValues = OnnxModelDescription.PixelValues;
    public const string ClassLogits = OnnxModelDescription.ClassLogits;
    public const string MaskLogits = OnnxModelDescription.MaskLogits;
}
