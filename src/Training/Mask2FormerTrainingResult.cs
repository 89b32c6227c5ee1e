using Microsoft.ML.Mask2Former.Evaluation;
using Microsoft.ML.Mask2Former.Training.Modeling;

namespace Microsoft.ML.Mask2Former.Training;

/// <summary>What <see cref="Mask2FormerTrainer"/> returns: the trained network (owned by the caller: dispose it) and a summary.</summary>
public sealed class Mask2FormerTrainingResult
{
    internal Mask2FormerTrainingResult(Mask2FormerForUniversalSegmentation network, long steps, IReadOnlyDictionary<string, double> lastLosses,
        PanopticSegmentationMetrics? validation, IReadOnlyList<string> warnings, string? outputFolder, string? checkpoint)
    {
        Network = network;
        Steps = steps;
        LastLosses = lastLosses;
        Validation = validation;
        Warnings = warnings;
        OutputFolder = outputFolder;
        Checkpoint = checkpoint;
    }

    /// <summary>The trained network, in evaluation mode.</summary>
    public Mask2FormerForUniversalSegmentation Network { get; }

    /// <summary>The optimizer steps done in total (including those before a resume).</summary>
    public long Steps { get; }

    /// <summary>The loss terms of the last step (empty when no step ran in this call).</summary>
    public IReadOnlyDictionary<string, double> LastLosses { get; }

    /// <summary>The last validation metrics, if any validation ran.</summary>
    public PanopticSegmentationMetrics? Validation { get; }

    /// <summary>Everything skipped: images without annotations, unreadable images.</summary>
    public IReadOnlyList<string> Warnings { get; }

    /// <summary>The output folder (config.json, model.safetensors, labels.json, log.jsonl, checkpoints/), if any.</summary>
    public string? OutputFolder { get; }

    /// <summary>The last checkpoint folder written or resumed from, if any.</summary>
    public string? Checkpoint { get; }
}
