namespace Mask2Former.Cli;

/// <summary>What a command does with the path an option names.</summary>
internal enum PathRole
{
    /// <summary>Reads this file.</summary>
    InputFile,

    /// <summary>Reads this file when the value names an existing file (<c>train --config</c>: a preset name or a config.json).</summary>
    InputFileIfExists,

    /// <summary>Reads files anywhere in this folder.</summary>
    InputFolder,

    /// <summary>Reads a model folder's configuration, labels and weights (<see cref="CommandPaths.ModelFolderFiles"/>).</summary>
    ModelFolder,

    /// <summary>Reads a model that is a file (ONNX) or a model folder, as <see cref="InputFile"/> or <see cref="ModelFolder"/>.</summary>
    ModelFileOrFolder,

    /// <summary>Writes this file.</summary>
    OutputFile,

    /// <summary>Writes files in this folder.</summary>
    OutputFolder,
}

/// <summary>
/// The paths every command reads and writes, by option, in one table: the shared check that no
/// output overwrites an input (<see cref="OutputPaths"/>) reads it before any command runs, and a
/// test walks the command tree to make sure no file or folder option is missing here.
/// </summary>
internal static class CommandPaths
{
    /// <summary>The files of a model folder that commands read (weights in any of the formats a model folder may hold).</summary>
    public static readonly string[] ModelFolderFiles = ["config.json", "labels.json", "*.safetensors", "*.pth", "*.pt", "*.bin", "*.ckpt"];

    /// <summary>Command (as typed, e.g. "eval panoptic") → option → role. Options absent here name no path.</summary>
    public static readonly IReadOnlyDictionary<string, IReadOnlyDictionary<string, PathRole>> Roles = new Dictionary<string, IReadOnlyDictionary<string, PathRole>>
    {
        ["eval panoptic"] = new Dictionary<string, PathRole>
        {
            ["--gt-json"] = PathRole.InputFile, ["--gt-folder"] = PathRole.InputFolder,
            ["--pred-json"] = PathRole.InputFile, ["--pred-folder"] = PathRole.InputFolder,
            ["--json"] = PathRole.OutputFile, ["--chart"] = PathRole.OutputFile,
        },
        ["eval instances"] = new Dictionary<string, PathRole>
        {
            ["--gt"] = PathRole.InputFile, ["--results"] = PathRole.InputFile, ["--json"] = PathRole.OutputFile,
        },
        ["eval semantic"] = new Dictionary<string, PathRole>
        {
            ["--gt-folder"] = PathRole.InputFolder, ["--pred-folder"] = PathRole.InputFolder, ["--class-names"] = PathRole.InputFile,
            ["--json"] = PathRole.OutputFile,
        },
        ["export"] = new Dictionary<string, PathRole>
        {
            ["--model"] = PathRole.ModelFolder, ["--labels"] = PathRole.InputFile, ["--out"] = PathRole.OutputFile,
        },
        ["forward"] = new Dictionary<string, PathRole>
        {
            ["--model"] = PathRole.ModelFolder, ["--inputs"] = PathRole.InputFile, ["--out"] = PathRole.OutputFile,
        },
        ["segment"] = new Dictionary<string, PathRole>
        {
            ["--model"] = PathRole.InputFile, ["--labels"] = PathRole.InputFile, ["--images"] = PathRole.InputFolder,
            ["--out-json"] = PathRole.OutputFile, ["--out-folder"] = PathRole.OutputFolder, ["--overlay"] = PathRole.OutputFolder,
            ["--instances-json"] = PathRole.OutputFile,
        },
        ["convert"] = new Dictionary<string, PathRole>
        {
            ["--model"] = PathRole.ModelFolder, ["--out"] = PathRole.OutputFolder,
        },
        ["test"] = new Dictionary<string, PathRole>
        {
            ["--model"] = PathRole.ModelFileOrFolder, ["--labels"] = PathRole.InputFile, ["--data"] = PathRole.InputFolder,
            ["--panoptic-json"] = PathRole.InputFile, ["--panoptic-folder"] = PathRole.InputFolder, ["--instances-json"] = PathRole.InputFile,
            ["--images"] = PathRole.InputFolder, ["--out"] = PathRole.OutputFolder, ["--json"] = PathRole.OutputFile,
        },
        ["merge"] = new Dictionary<string, PathRole>
        {
            ["--out"] = PathRole.OutputFolder, ["--json"] = PathRole.OutputFile,
        },
        ["sweep thresholds"] = new Dictionary<string, PathRole>
        {
            ["--model"] = PathRole.InputFile, ["--data"] = PathRole.InputFolder, ["--out"] = PathRole.OutputFolder,
        },
        ["render"] = new Dictionary<string, PathRole>
        {
            ["--json"] = PathRole.InputFile, ["--png-folder"] = PathRole.InputFolder, ["--images"] = PathRole.InputFolder,
            ["--categories"] = PathRole.InputFile, ["--out"] = PathRole.OutputFolder,
        },
        ["train"] = new Dictionary<string, PathRole>
        {
            ["--data"] = PathRole.InputFolder, ["--val"] = PathRole.InputFolder, ["--config"] = PathRole.InputFileIfExists,
            ["--init"] = PathRole.ModelFileOrFolder, ["--out"] = PathRole.OutputFolder,
        },
    };

    /// <summary>
    /// The files an output folder's command replaces by name, beyond new files of its own naming: an
    /// input that is one of them would be overwritten even though the folder is not an input.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string[]> FilesWrittenIntoOutputFolder = new Dictionary<string, string[]>
    {
        ["train"] = ["config.json", "model.safetensors", "labels.json", "log.jsonl", "checkpoints"],
        ["sweep thresholds"] = ["journal.jsonl", "panoptic-thresholds.md", "panoptic-thresholds.csv"],
    };
}
