namespace Microsoft.ML.Mask2Former.Training.Tests.Notebooks;

/// <summary>
/// What the .NET Interactive kernel gives a cell that the notebooks here use: <c>display(x)</c>.
/// Displayed values are written to the test log so a failing run shows how far it got.
/// </summary>
public sealed class NotebookGlobals
{
    private readonly TextWriter _log;

    internal NotebookGlobals(TextWriter log) => _log = log;

    /// <summary>Everything displayed so far, in order.</summary>
    public List<object?> Displayed { get; } = new();

    /// <summary>Shows a value (here: records it and writes its text to the log).</summary>
    public object? display(object? value)
    {
        Displayed.Add(value);
        _log.WriteLine(value?.ToString());
        return value;
    }
}
