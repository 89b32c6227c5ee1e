using Microsoft.ML.Mask2Former.Training;
using Microsoft.ML.Mask2Former.Training.Data;
using Microsoft.ML.Mask2Former.Training.Optimization;

/// <summary>
/// The training recipe the QuickStart and the TrainingDemo share: the "small" Mask2Former from
/// random weights on a few hundred synthetic images, on CPU, in minutes.
/// </summary>
internal static class SmallModelRecipe
{
    public static Mask2FormerTrainerOptions Options(long steps, int size, string outputFolder) => new()
    {
        ConfigName = "small",
        MaxSteps = steps,
        BatchSize = 4,
        ImageSize = size,
        ResizeMode = ImageResizeMode.LargeScaleJitter,
        MinScale = 0.7,
        MaxScale = 1.4,
        LearningRate = 4e-4,
        // The COCO recipe's backbone ×0.1 assumes an ImageNet backbone; this one starts from random weights.
        BackboneMultiplier = 1.0,
        Schedule = LearningRateScheduleKind.Poly,
        WarmupSteps = 50,
        WarmupFactor = 0.01,
        NumPoints = 2048,
        OutputFolder = outputFolder,
        LoaderThreads = 2,
    };
}
