using Microsoft.ML.Mask2Former.Data;

namespace Microsoft.ML.Mask2Former.Evaluation;

/// <summary>
/// The panoptic ground-truth columns the <see cref="IDataView"/> evaluators read, with the names of
/// <see cref="PanopticColumnNames"/> (what <c>LoadFromCocoPanoptic</c> writes) as defaults.
/// </summary>
public abstract class GroundTruthColumnOptions
{
    /// <summary>Image id (text), for error messages and image identity; if the column is absent the row number is used.</summary>
    public string ImageIdColumnName { get; set; } = PanopticColumnNames.ImageId;

    /// <summary>Ground-truth segment-id map (vector of UInt32, row-major, 0 = void).</summary>
    public string SegmentMapColumnName { get; set; } = PanopticColumnNames.SegmentMap;

    /// <summary>Ground-truth segment ids (vector of UInt32).</summary>
    public string SegmentIdsColumnName { get; set; } = PanopticColumnNames.SegmentIds;

    /// <summary>Ground-truth category ids (vector of Int32).</summary>
    public string CategoryIdsColumnName { get; set; } = PanopticColumnNames.CategoryIds;

    /// <summary>Ground-truth crowd flags (vector of Boolean); if the column is absent no segment is crowd.</summary>
    public string IsCrowdColumnName { get; set; } = PanopticColumnNames.IsCrowd;

    /// <summary>Ground-truth areas from the JSON (vector of Int64, -1 = count from the map); if the column is absent areas are counted from the map.</summary>
    public string AreasColumnName { get; set; } = PanopticColumnNames.Areas;
}
