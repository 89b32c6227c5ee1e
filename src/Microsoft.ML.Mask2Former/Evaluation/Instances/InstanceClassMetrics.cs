namespace Microsoft.ML.Mask2Former.Evaluation;

/// <summary>
/// One category's AP (IoU 0.50:0.95, all areas, 100 detections), as detectron2's COCO evaluator
/// derives it from COCOeval's precision array.
/// </summary>
/// <param name="CategoryId">The category id.</param>
/// <param name="Name">The category name.</param>
/// <param name="AveragePrecision">AP as a fraction; <see cref="double.NaN"/> when the category has no ground truth.</param>
/// <param name="GroundTruthCount">Ground-truth objects of the category (crowd regions included).</param>
/// <param name="DetectionCount">Detections of the category (before the 100-per-image limit).</param>
public sealed record InstanceClassMetrics(int CategoryId, string Name, double AveragePrecision, int GroundTruthCount, int DetectionCount);
