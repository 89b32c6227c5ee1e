namespace Microsoft.ML.Mask2Former.Training.Optimization;

/// <summary>The shape of the learning-rate schedule after warm-up.</summary>
public enum LearningRateScheduleKind
{
    /// <summary>Constant, multiplied by the decay factor at each milestone (detectron2 <c>WarmupMultiStepLR</c>, the Mask2Former COCO recipe).</summary>
    MultiStep,

    /// <summary><c>(1 − step / steps)^power</c> (detectron2 <c>WarmupPolyLR</c>, the Mask2Former ADE20K and Cityscapes recipes).</summary>
    Poly,
}
