using Microsoft.ML.Mask2Former.Data;
using Microsoft.ML.Mask2Former.Evaluation;
using Microsoft.ML.Mask2Former.Formats;

namespace Microsoft.ML.Mask2Former;

/// <summary>The extension methods that bring Mask2Former into an <see cref="MLContext"/>.</summary>
public static class Mask2FormerCatalog
{
    /// <summary>
    /// Panoptic segmentation operations: <c>mlContext.PanopticSegmentation().Evaluate(...)</c>.
    /// </summary>
    public static PanopticSegmentationCatalog PanopticSegmentation(this MLContext mlContext)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        return new PanopticSegmentationCatalog(mlContext);
    }

    /// <summary>
    /// Loads a COCO panoptic data set (JSON + segment-map PNG folder) as a lazy
    /// <see cref="IDataView"/> with the columns of <see cref="PanopticColumnNames"/>. The JSON is
    /// read and validated now; PNGs are decoded only when a cursor reads the segment map.
    /// </summary>
    /// <param name="catalog">The data catalog (<c>mlContext.Data</c>).</param>
    /// <param name="jsonPath">The COCO panoptic JSON.</param>
    /// <param name="pngFolder">The folder of segment-map PNGs named by the annotations' <c>file_name</c>.</param>
    /// <param name="imageFolder">The folder of the photos, for the <c>ImagePath</c> column; <see langword="null"/> leaves it empty.</param>
    public static CocoPanopticDataView LoadFromCocoPanoptic(this DataOperationsCatalog catalog, string jsonPath, string pngFolder,
        string? imageFolder = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new CocoPanopticDataView(CocoPanopticDataset.Load(jsonPath), pngFolder, imageFolder);
    }
}
