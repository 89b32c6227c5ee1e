using System.Globalization;
using Microsoft.ML.Mask2Former.Formats;

namespace Mask2Former.Cli;

/// <summary>
/// The marker file a command that writes many files into a folder (segment maps, overlays) keeps
/// there until its last file is written: a run that fails or is killed half-way leaves the marker
/// beside its partial output, and commands refuse to read a folder that holds one
/// (<see cref="OutputPaths"/>), so partial output is never mistaken for a whole one.
/// </summary>
internal sealed class IncompleteMarker
{
    /// <summary>The marker's file name.</summary>
    public const string FileName = "m2f-incomplete.txt";

    private readonly string[] _paths;

    private IncompleteMarker(string[] paths) => _paths = paths;

    /// <summary>Creates the folders and puts a marker in each, naming the command.</summary>
    public static IncompleteMarker Begin(string command, params string?[] folders)
    {
        var paths = folders.OfType<string>().Distinct().Select(f => Path.Combine(f, FileName)).ToArray();
        var text = string.Create(CultureInfo.InvariantCulture,
            $"m2f {command} started writing here at {DateTime.UtcNow:yyyy-MM-dd HH:mm:ss} UTC and has not finished: the files in this folder may be partial or stale.\nRun the command again; it removes this file when it completes.\n");
        foreach (var path in paths) AtomicFile.WriteAllText(path, text);
        return new IncompleteMarker(paths);
    }

    /// <summary>Removes the markers: every file was written.</summary>
    public void Complete()
    {
        foreach (var path in _paths) File.Delete(path);
    }

    /// <summary>The command named in the marker of <paramref name="folder"/>, or null when it holds none.</summary>
    public static string? Find(string folder)
    {
        var path = Path.Combine(folder, FileName);
        if (!File.Exists(path)) return null;
        var first = File.ReadLines(path).FirstOrDefault() ?? "";
        return first.StartsWith("m2f ", StringComparison.Ordinal) && first.IndexOf(" started", StringComparison.Ordinal) is > 4 and var end ? first[..end] : "an m2f command";
    }
}
