namespace Microsoft.ML.Mask2Former.Evaluation;

/// <summary>IoU, accuracy and the underlying pixel counts of one class (ignored pixels excluded).</summary>
/// <param name="ClassIndex">The label, 0..K−1.</param>
/// <param name="Name">The class name (the label as text unless names were given).</param>
/// <param name="IoU">
/// tp / (gt + predicted − tp) as a fraction; <see cref="double.NaN"/> when the class has no
/// ground-truth pixel (current detectron2 leaves such a class out of mIoU even when it is predicted).
/// </param>
/// <param name="Accuracy">tp / gt as a fraction; <see cref="double.NaN"/> when the class has no ground-truth pixel.</param>
/// <param name="TruePositives">Pixels of the class in the ground truth and predicted as it.</param>
/// <param name="GroundTruthPixels">Pixels of the class in the ground truth.</param>
/// <param name="PredictedPixels">Pixels predicted as the class where the ground truth is not ignored.</param>
public sealed record SemanticClassMetrics(int ClassIndex, string Name, double IoU, double Accuracy,
    long TruePositives, long GroundTruthPixels, long PredictedPixels);
