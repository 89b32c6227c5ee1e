namespace Microsoft.ML.Mask2Former.Training;

/// <summary>The loss or the gradient became NaN or infinite; training stopped without updating the weights or writing a checkpoint.</summary>
public sealed class TrainingDivergedException : Exception
{
    /// <summary>Creates the exception.</summary>
    public TrainingDivergedException(string message, long step, string? lastCheckpoint) : base(message)
    {
        Step = step;
        LastCheckpoint = lastCheckpoint;
    }

    /// <summary>The 0-based step whose loss or gradient was not finite.</summary>
    public long Step { get; }

    /// <summary>The folder of the last good checkpoint, if one was written.</summary>
    public string? LastCheckpoint { get; }
}
