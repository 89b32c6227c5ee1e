namespace Microsoft.ML.Mask2Former.Training;

/// <summary>Catalog entry points for training.</summary>
public static class Mask2FormerTrainingCatalog
{
    /// <summary>
    /// <c>mlContext.PanopticSegmentation().Mask2Former(options)</c>: an estimator that
    /// trains Mask2Former and returns the scoring pipeline (see <see cref="Mask2FormerPanopticEstimator"/>).
    /// </summary>
    public static Mask2FormerPanopticEstimator Mask2Former(this Evaluation.PanopticSegmentationCatalog catalog, Mask2FormerTrainerOptions options,
        string? onnxPath = null, IProgress<TrainingProgress>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new Mask2FormerPanopticEstimator(catalog.Context, options, onnxPath, progress);
    }
}
