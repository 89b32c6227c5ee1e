using System.CommandLine;
using System.CommandLine.Parsing;
using Microsoft.ML.Mask2Former.Formats;

namespace Mask2Former.Cli;

/// <summary>
/// The check every command passes before it does any work: no output may be, or lie inside, one of
/// its inputs (the same file, the same folder, a file inside an input folder, a model folder's
/// weights), compared after following symbolic links and relative paths, since writing there
/// destroys what the command reads. Input files must be regular, non-empty files (a FIFO would
/// block the command forever); input folders must not hold the <see cref="IncompleteMarker"/> of
/// a run that did not finish. Temporary files of outputs whose earlier writes were killed are
/// removed.
/// </summary>
internal static class OutputPaths
{
    private static readonly StringComparison PathComparison =
        OperatingSystem.IsLinux() ? StringComparison.Ordinal : StringComparison.OrdinalIgnoreCase;

    /// <summary>
    /// Checks the paths of the command <paramref name="parse"/> invokes (see <see cref="CommandPaths"/>,
    /// where commands are named as under m2f; <paramref name="commandPrefix"/> makes another tool's
    /// names match, "eval" for m2f-eval's "panoptic").
    /// </summary>
    /// <exception cref="ArgumentException">An output is or lies inside an input; the message names both.</exception>
    /// <exception cref="Microsoft.ML.Mask2Former.Formats.DataFormatException">An input file is empty or not a regular file.</exception>
    public static void Check(ParseResult parse, string commandPrefix = "")
    {
        var command = CommandName(parse.CommandResult);
        if (commandPrefix.Length > 0) command = $"{commandPrefix} {command}";
        if (!CommandPaths.Roles.TryGetValue(command, out var roles)) return;
        var inputs = new List<(string Option, string Path, PathRole Role)>();
        var outputs = new List<(string Option, string Path, PathRole Role)>();
        foreach (var option in parse.CommandResult.Command.Options)
        {
            if (!roles.TryGetValue(option.Name, out var role) || parse.GetResult(option) is not { Implicit: false } result) continue;
            foreach (var token in result.Tokens)
            {
                if (string.IsNullOrWhiteSpace(token.Value)) throw new ArgumentException($"{option.Name} names no path");
                var entry = (option.Name, token.Value, role == PathRole.ModelFileOrFolder
                    ? Directory.Exists(token.Value) ? PathRole.ModelFolder : PathRole.InputFile
                    : role);
                if (role is PathRole.OutputFile or PathRole.OutputFolder) outputs.Add(entry);
                else if (role != PathRole.InputFileIfExists || File.Exists(token.Value)) inputs.Add(entry);
            }
        }

        foreach (var (option, path, role) in inputs)
        {
            if (role is PathRole.InputFile or PathRole.InputFileIfExists && File.Exists(path)) InputFile.RequireRegular(Path.GetFullPath(path), $"the {option} file");
            if (role is PathRole.InputFolder or PathRole.ModelFolder && File.Exists(path))
                throw new ArgumentException($"{option} '{path}' is a file; a folder is expected");
            if (role == PathRole.InputFolder && Directory.Exists(path) && IncompleteMarker.Find(path) is { } writer)
                throw new ArgumentException($"{option} '{path}' holds {IncompleteMarker.FileName}: {writer} did not finish writing there, so its files may be partial; run it again first");
        }

        foreach (var (option, path, role) in outputs) CheckWritableKind(option, path, role);

        var written = CommandPaths.FilesWrittenIntoOutputFolder.GetValueOrDefault(command, []);
        foreach (var (outOption, outPath, outRole) in outputs)
        {
            var output = Canonical(outPath);
            foreach (var (inOption, inPath, inRole) in inputs)
            {
                var input = Canonical(inPath);
                var why = inRole switch
                {
                    PathRole.InputFolder when Same(output, input) => "they are the same folder",
                    PathRole.InputFolder when Inside(output, input) => "it lies inside that folder",
                    PathRole.ModelFolder when Same(output, input) => "they are the same folder",
                    PathRole.ModelFolder when ModelFiles(input).FirstOrDefault(f => Same(output, f)) is { } file => $"it is the model's {Path.GetFileName(file)}",
                    PathRole.InputFolder or PathRole.ModelFolder => null,
                    _ when Same(output, input) => "they are the same file",
                    _ when outRole == PathRole.OutputFolder && written.FirstOrDefault(n => Same(Path.Combine(output, n), input)) is { } name =>
                        $"the command writes {name} into that folder",
                    _ => null,
                };
                if (why is null) continue;
                var resolved = Same(output, Path.GetFullPath(outPath)) && Same(input, Path.GetFullPath(inPath)) ? ""
                    : Same(output, input) ? $" (both lead to '{input}')" : $" (after following links: '{output}' and '{input}')";
                throw new ArgumentException($"{outOption} '{outPath}' would overwrite the input {inOption} '{inPath}': {why}{resolved}; write the output somewhere else");
            }
        }

        foreach (var (_, path, role) in outputs)
        {
            if (role == PathRole.OutputFile) AtomicFile.DeleteLeftovers(path);
            else AtomicFile.DeleteLeftoversIn(path);
        }
    }

    /// <summary>An output folder must not be a file, an output file not a folder, and no folder above either a file.</summary>
    private static void CheckWritableKind(string option, string path, PathRole role)
    {
        var full = Path.GetFullPath(path);
        if (role == PathRole.OutputFolder && File.Exists(full)) throw new ArgumentException($"{option} '{path}' is a file; a folder is expected");
        if (role == PathRole.OutputFile && Directory.Exists(full)) throw new ArgumentException($"{option} '{path}' is a folder; a file name is expected");
        for (var parent = Path.GetDirectoryName(full); parent is not null; parent = Path.GetDirectoryName(parent))
        {
            if (File.Exists(parent)) throw new ArgumentException($"{option} '{path}' cannot be created: '{parent}' is a file, not a folder");
        }
    }

    /// <summary>"eval panoptic", "segment", …: the command's names below the root.</summary>
    internal static string CommandName(CommandResult result)
    {
        var names = new List<string>();
        for (SymbolResult? r = result; r is CommandResult c && c.Parent is not null; r = c.Parent) names.Insert(0, c.Command.Name);
        return string.Join(' ', names);
    }

    private static IEnumerable<string> ModelFiles(string folder) =>
        CommandPaths.ModelFolderFiles.SelectMany(pattern => pattern.Contains('*')
            ? Directory.Exists(folder) ? Directory.EnumerateFiles(folder, pattern).Select(f => Canonical(f)) : []
            : [Canonical(Path.Combine(folder, pattern))]);

    private static bool Same(string a, string b) => string.Equals(a.TrimEnd(Path.DirectorySeparatorChar), b.TrimEnd(Path.DirectorySeparatorChar), PathComparison);

    private static bool Inside(string path, string folder) =>
        path.StartsWith(folder.TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar, PathComparison);

    /// <summary>
    /// The absolute path with every symbolic link along it resolved (as <c>realpath</c>, but also for
    /// paths whose last parts do not exist yet: those are appended to the resolved existing part).
    /// </summary>
    internal static string Canonical(string path) => Canonical(path, 0);

    private static string Canonical(string path, int depth)
    {
        var full = Path.GetFullPath(path);
        var root = Path.GetPathRoot(full)!;
        var parts = full[root.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries);
        var current = root;
        for (var i = 0; i < parts.Length; i++)
        {
            var next = Path.Combine(current, parts[i]);
            FileSystemInfo info = Directory.Exists(next) ? new DirectoryInfo(next) : new FileInfo(next);
            if (!info.Exists && info.LinkTarget is null) return Path.Combine([next, .. parts[(i + 1)..]]);
            // A chain of links longer than the kernel's limit (40) is a loop: keep the path as it is.
            if (info.LinkTarget is not null && depth < 40)
            {
                FileSystemInfo? target = null;
                try { target = info.ResolveLinkTarget(returnFinalTarget: true); }
                catch (IOException) { }
                if (target is not null) next = Canonical(target.FullName, depth + 1);
            }
            current = next;
        }
        return current;
    }
}
