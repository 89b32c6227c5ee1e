namespace Microsoft.ML.Mask2Former.Training.Data;

/// <summary>Where the trainer's batches come from: the whole batch in one process, or one rank's share of a combined batch.</summary>
internal interface IBatchSource : IDisposable
{
    /// <summary>Returns the next batch (and starts loading the one after it).</summary>
    LoadedBatch Next();

    /// <summary>Seconds the last <see cref="Next"/> waited for data.</summary>
    double LastWaitSeconds { get; }
}
