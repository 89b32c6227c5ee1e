namespace Microsoft.ML.Mask2Former.Tuning;

/// <summary>Settings of a <see cref="SweepRunner"/>.</summary>
public sealed class SweepRunnerOptions
{
    /// <summary>The sweep's name (journal header, report titles). Default "sweep".</summary>
    public string Name { get; init; } = "sweep";

    /// <summary>Whether a larger metric is better (PQ, AP: yes; a loss: no). Default true.</summary>
    public bool HigherIsBetter { get; init; } = true;

    /// <summary>A journal file that makes the sweep resumable; <see langword="null"/> (default) keeps results in memory only.</summary>
    public string? JournalPath { get; init; }

    /// <summary>
    /// What the sweep's results belong to (for example the content hashes of the model and the data
    /// set), recorded on the journal's first line. Reopening a journal that records anything else is
    /// refused, naming what differs, so a sweep resumed with another model or data set never reuses
    /// scores it did not earn. Default <see langword="null"/>: nothing recorded, and a journal that
    /// records something is refused.
    /// </summary>
    public IReadOnlyDictionary<string, string>? Identity { get; init; }

    /// <summary>Receives each finished trial (including ones read back from the journal, which are not re-run).</summary>
    public IProgress<SweepResult>? Progress { get; init; }
}
