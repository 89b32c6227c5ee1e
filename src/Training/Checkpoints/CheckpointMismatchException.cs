namespace Microsoft.ML.Mask2Former.Training.Checkpoints;

/// <summary>A strict load found names or shapes that do not match the model; nothing was loaded.</summary>
public sealed class CheckpointMismatchException : Exception
{
    /// <summary>Creates the exception from a load report.</summary>
    public CheckpointMismatchException(LoadReport report, string? filePath)
        : base(Compose(report, filePath))
    {
        Report = report;
        FilePath = filePath;
    }

    /// <summary>Every missing and unexpected name and every shape mismatch.</summary>
    public LoadReport Report { get; }

    /// <summary>The checkpoint file, if any.</summary>
    public string? FilePath { get; }

    private static string Compose(LoadReport report, string? filePath)
    {
        var where = filePath is null ? "" : $" '{filePath}'";
        return $"The checkpoint{where} does not match the model: {report.Describe()}";
    }
}
