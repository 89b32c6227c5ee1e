using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;

namespace Microsoft.ML.Mask2Former.Scoring;

// The row types of the custom mappings inside the scoring pipelines. They are public only because
// ML.NET's CustomMapping needs them to be; user code reads the columns by name
// (SegmentationColumnNames), not through these classes.

/// <summary>Input row of the image-decoding step (internal to the scoring pipeline).</summary>
public sealed class DecodeRow
{
    /// <summary>The image.</summary>
    [ColumnName(ScoringColumns.Image), UnsizedImageType]
    public MLImage? Image { get; set; }
}

/// <summary>Output row of the image-decoding step (internal to the scoring pipeline).</summary>
public sealed class DecodedRow
{
    /// <summary>Interleaved RGB bytes.</summary>
    [ColumnName(ScoringColumns.Rgb)]
    public byte[] Rgb { get; set; } = [];

    /// <summary>Original height and width.</summary>
    [ColumnName(ScoringColumns.Size), VectorType(2)]
    public double[] Size { get; set; } = new double[2];
}

/// <summary>Input row of the letterbox step (internal to the scoring pipeline).</summary>
public sealed class LetterboxRow
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
public sealed class PixelValuesRow
{
    /// <summary>The normalised [1, 3, H, W] model input.</summary>
    [ColumnName(ScoringColumns.PixelValues)]
    public float[] PixelValues { get; set; } = [];
}

/// <summary>Input row of the post-processing steps (internal to the scoring pipeline).</summary>
public sealed class LogitsRow
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

/// <summary>Panoptic output columns (see <see cref="SegmentationColumnNames"/>).</summary>
public sealed class PanopticRow
{
    /// <summary>See <see cref="SegmentationColumnNames.ImageHeight"/>.</summary>
    public int ImageHeight { get; set; }

    /// <summary>See <see cref="SegmentationColumnNames.ImageWidth"/>.</summary>
    public int ImageWidth { get; set; }

    /// <summary>See <see cref="SegmentationColumnNames.SegmentMap"/>.</summary>
    public uint[] SegmentMap { get; set; } = [];

    /// <summary>See <see cref="SegmentationColumnNames.SegmentIds"/>.</summary>
    public uint[] SegmentIds { get; set; } = [];

    /// <summary>See <see cref="SegmentationColumnNames.SegmentCategoryIds"/>.</summary>
    public int[] SegmentCategoryIds { get; set; } = [];

    /// <summary>See <see cref="SegmentationColumnNames.SegmentIsThing"/>.</summary>
    public bool[] SegmentIsThing { get; set; } = [];

    /// <summary>See <see cref="SegmentationColumnNames.SegmentScores"/>.</summary>
    public float[] SegmentScores { get; set; } = [];

    /// <summary>See <see cref="SegmentationColumnNames.SegmentAreas"/>.</summary>
    public long[] SegmentAreas { get; set; } = [];

    /// <summary>See <see cref="SegmentationColumnNames.SegmentBoxes"/>.</summary>
    public float[] SegmentBoxes { get; set; } = [];
}

/// <summary>Instance output columns (see <see cref="SegmentationColumnNames"/>).</summary>
public sealed class InstancesRow
{
    /// <summary>See <see cref="SegmentationColumnNames.ImageHeight"/>.</summary>
    public int ImageHeight { get; set; }

    /// <summary>See <see cref="SegmentationColumnNames.ImageWidth"/>.</summary>
    public int ImageWidth { get; set; }

    /// <summary>See <see cref="SegmentationColumnNames.InstanceCategoryIds"/>.</summary>
    public int[] InstanceCategoryIds { get; set; } = [];

    /// <summary>See <see cref="SegmentationColumnNames.InstanceScores"/>.</summary>
    public float[] InstanceScores { get; set; } = [];

    /// <summary>See <see cref="SegmentationColumnNames.InstanceAreas"/>.</summary>
    public long[] InstanceAreas { get; set; } = [];

    /// <summary>See <see cref="SegmentationColumnNames.InstanceBoxes"/>.</summary>
    public float[] InstanceBoxes { get; set; } = [];

    /// <summary>See <see cref="SegmentationColumnNames.InstanceMasks"/>.</summary>
    public string[] InstanceMasks { get; set; } = [];
}

/// <summary>Semantic output columns (see <see cref="SegmentationColumnNames"/>).</summary>
public sealed class SemanticRow
{
    /// <summary>See <see cref="SegmentationColumnNames.ImageHeight"/>.</summary>
    public int ImageHeight { get; set; }

    /// <summary>See <see cref="SegmentationColumnNames.ImageWidth"/>.</summary>
    public int ImageWidth { get; set; }

    /// <summary>See <see cref="SegmentationColumnNames.ClassMap"/>.</summary>
    public uint[] ClassMap { get; set; } = [];
}

/// <summary>A row with no columns (schema propagation only).</summary>
public sealed class NoColumns
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
