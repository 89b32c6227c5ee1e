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

    /// <summary>Receives each finished trial (including ones read back from the journal, which are not re-run).</summary>
    public IProgress<SweepResult>? Progress { get; init; }
}
