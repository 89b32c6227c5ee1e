using System.Text.Json;
using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace Microsoft.ML.Mask2Former.Training.Tests.Notebooks;

/// <summary>
/// Reads the C# cells of a .NET Interactive notebook (.ipynb) and turns its kernel directives
/// into checks: <c>#r "nuget: Name, Version"</c> must name a package this repository pins at that
/// version (or one of its own projects), <c>#r "path.dll"</c> must point at one of this
/// repository's build outputs. The directives are then removed, since the test host already
/// references everything they bring.
/// </summary>
internal static partial class NotebookReader
{
    [GeneratedRegex("""^\s*#r\s+"nuget:\s*(?<name>[^,"]+?)\s*(,\s*(?<version>[^"]+?))?\s*"\s*$""")]
    private static partial Regex NugetDirective();

    [GeneratedRegex("""^\s*#r\s+"(?<path>[^"]+\.dll)"\s*$""")]
    private static partial Regex AssemblyDirective();

    public static IReadOnlyList<NotebookCell> ReadCSharpCells(string path, string repoRoot)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        var root = doc.RootElement;
        var defaultLanguage = root.TryGetProperty("metadata", out var meta)
            && meta.TryGetProperty("polyglot_notebook", out var poly)
            && poly.TryGetProperty("defaultKernelName", out var kernel) ? kernel.GetString() : "csharp";
        var pinned = PinnedPackages(repoRoot);
        var cells = new List<NotebookCell>();
        var index = 0;
        foreach (var cell in root.GetProperty("cells").EnumerateArray())
        {
            index++;
            if (cell.GetProperty("cell_type").GetString() != "code") continue;
            var language = defaultLanguage;
            if (cell.TryGetProperty("metadata", out var cm))
            {
                if (cm.TryGetProperty("polyglot_notebook", out var pn) && pn.TryGetProperty("kernelName", out var kn)) language = kn.GetString();
                else if (cm.TryGetProperty("dotnet_interactive", out var di) && di.TryGetProperty("language", out var dl)) language = dl.GetString();
            }
            if (language != "csharp") throw new InvalidDataException($"{path}: cell {index} is {language}; the notebooks here are C# only");
            var source = cell.GetProperty("source");
            var text = source.ValueKind == JsonValueKind.Array
                ? string.Concat(source.EnumerateArray().Select(s => s.GetString()))
                : source.GetString() ?? "";
            var kept = new List<string>();
            foreach (var line in text.Split('\n'))
            {
                if (NugetDirective().Match(line) is { Success: true } nuget)
                {
                    var name = nuget.Groups["name"].Value;
                    var version = nuget.Groups["version"].Success ? nuget.Groups["version"].Value : null;
                    if (!pinned.TryGetValue(name, out var expected))
                        throw new InvalidDataException($"{path}: cell {index} asks for package {name}, which this repository does not use");
                    if (version is not null && version != expected)
                        throw new InvalidDataException($"{path}: cell {index} asks for {name} {version}; the repository pins {expected}");
                    continue;
                }
                if (AssemblyDirective().Match(line) is { Success: true } dll)
                {
                    var full = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(path)!, dll.Groups["path"].Value));
                    if (!full.StartsWith(Path.Combine(repoRoot, "src") + Path.DirectorySeparatorChar, StringComparison.Ordinal)
                        || !full.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
                        throw new InvalidDataException($"{path}: cell {index} references {dll.Groups["path"].Value}, which is not a Release build output under src/");
                    var project = Path.GetFileNameWithoutExtension(full);
                    if (!Directory.EnumerateFiles(Path.Combine(repoRoot, "src"), "*.csproj", SearchOption.AllDirectories)
                            .Any(p => AssemblyNameOf(p) == project))
                        throw new InvalidDataException($"{path}: cell {index} references {project}.dll, which no project under src/ builds");
                    continue;
                }
                if (line.TrimStart().StartsWith("#!", StringComparison.Ordinal)) continue;
                kept.Add(line);
            }
            cells.Add(new NotebookCell(index, string.Join('\n', kept)));
        }
        return cells;
    }

    private static Dictionary<string, string> PinnedPackages(string repoRoot)
    {
        var props = XDocument.Load(Path.Combine(repoRoot, "Directory.Packages.props"));
        return props.Descendants("PackageVersion").ToDictionary(
            e => (string)e.Attribute("Include")!, e => (string)e.Attribute("Version")!, StringComparer.OrdinalIgnoreCase);
    }

    private static string AssemblyNameOf(string csproj)
    {
        var name = XDocument.Load(csproj).Descendants("AssemblyName").FirstOrDefault()?.Value;
        return string.IsNullOrEmpty(name) ? Path.GetFileNameWithoutExtension(csproj) : name;
    }
}
