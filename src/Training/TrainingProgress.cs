namespace Microsoft.ML.Mask2Former.Training;

/// <summary>A progress report of <see cref="Mask2FormerTrainer"/>: after a reported step, or after a validation.</summary>
public sealed class TrainingProgress
{
    /// <summary>Optimizer steps done.</summary>
    public required long Step { get; init; }

    /// <summary>The number of steps of the run.</summary>
    public required long TotalSteps { get; init; }

    /// <summary>The last step's weighted total loss.</summary>
    public required double Loss { get; init; }

    /// <summary>The last step's unweighted terms (<c>loss_ce</c>, <c>loss_mask</c>, <c>loss_dice</c> and their auxiliary versions) and <c>loss</c>.</summary>
    public required IReadOnlyDictionary<string, double> Losses { get; init; }

    /// <summary>The base learning rate in effect at the last step (the head's; the backbone's is scaled).</summary>
    public required double LearningRate { get; init; }

    /// <summary>Images per second over the steps since the previous report.</summary>
    public required double ImagesPerSecond { get; init; }

    /// <summary>The share of wall time the training loop waited for data since the previous report (0 … 1).</summary>
    public required double DataWaitShare { get; init; }

    /// <summary>The estimated time to the last step at the recent pace.</summary>
    public required TimeSpan EstimatedRemaining { get; init; }

    /// <summary>Validation panoptic quality (0 … 1) when this report follows a validation, else null.</summary>
    public double? ValidationPanopticQuality { get; init; }

    /// <summary>The full validation metrics when this report follows a validation, else null.</summary>
    public Evaluation.PanopticSegmentationMetrics? Validation { get; init; }

    /// <inheritdoc/>
    public override string ToString()
    {
        var ci = System.Globalization.CultureInfo.InvariantCulture;
        var text = string.Format(ci, "step {0}/{1}  loss {2:F4}  ce {3:F4}  mask {4:F4}  dice {5:F4}  lr {6:G3}  {7:F2} img/s  data {8:P0}  eta {9:hh\\:mm\\:ss}",
            Step, TotalSteps, Loss, Losses.GetValueOrDefault("loss_ce"), Losses.GetValueOrDefault("loss_mask"), Losses.GetValueOrDefault("loss_dice"),
            LearningRate, ImagesPerSecond, DataWaitShare, EstimatedRemaining);
        return ValidationPanopticQuality is { } pq ? text + string.Format(ci, "  PQ {0:F2}", 100 * pq) : text;
    }
}
