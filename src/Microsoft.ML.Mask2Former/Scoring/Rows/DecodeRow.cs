using Microsoft.ML.Data;

namespace Microsoft.ML.Mask2Former.Scoring;

/// <summary>Input row of the image-decoding step (internal to the scoring pipeline).</summary>
internal sealed class DecodeRow
{
    /// <summary>The image.</summary>
    [ColumnName(ScoringColumns.Image), UnsizedImageType]
    public MLImage? Image { get; set; }
}
