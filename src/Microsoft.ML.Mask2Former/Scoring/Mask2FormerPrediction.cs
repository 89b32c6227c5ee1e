using Microsoft.ML.Mask2Former.PostProcessing;

namespace Microsoft.ML.Mask2Former.Scoring;

/// <summary>
/// Every task's result from one forward pass of the model (<see cref="Mask2FormerPredictor.Predict"/>),
/// as mmdetection's fusion head and detectron2's Mask2Former produce panoptic and instance results
/// from the same logits. Categories are class indices into <see cref="Mask2FormerPredictor.Labels"/>.
/// </summary>
/// <param name="Panoptic">The panoptic segmentation.</param>
/// <param name="Instances">The instance segmentation.</param>
/// <param name="Semantic">The semantic segmentation, when asked for.</param>
public sealed record Mask2FormerPrediction(PanopticResult Panoptic, InstanceResult Instances, SemanticResult? Semantic);
