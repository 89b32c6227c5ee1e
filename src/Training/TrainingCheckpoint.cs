using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.ML.Mask2Former.Training.Checkpoints;
using Microsoft.ML.Mask2Former.Training.Modeling;
using TorchSharp;

namespace Microsoft.ML.Mask2Former.Training;

/// <summary>
/// The resumable state of a run, as stored in <c>trainer_state.json</c>. <paramref name="ImageSize"/>
/// and <paramref name="Data"/> (the data set's fingerprint) are null in checkpoints of older versions.
/// </summary>
internal sealed record TrainingState(long Step, long Cursor, long TotalSteps, int Seed, int BatchSize, double LearningRateFactor, string? LastCheckpoint = null,
    int? ImageSize = null, string? Data = null);

/// <summary>
/// Checkpoints in <c>OUT/checkpoints/step-NNNNNNNN/</c>: <c>model.safetensors</c> (Hugging Face
/// names), <c>config.json</c>, <c>optimizer.bin</c> (TorchSharp AdamW state: moments and step
/// counts), <c>rng_state.bin</c> (the libtorch CPU generator) and <c>trainer_state.json</c> (step,
/// data-stream cursor, schedule). A checkpoint is written into a hidden temporary folder that is
/// renamed into place when complete, then <c>checkpoints/latest</c> is replaced atomically: a
/// write that dies half-way (an exception, or the process killed) leaves the previous checkpoint
/// current and intact, and the next run in the same output folder removes what it left behind.
/// <c>trainer_state.json</c>, written last, holds the SHA-256 of every other file: a file damaged
/// later (truncated, overwritten) is refused by name before any of it reaches libtorch, whose
/// errors while restoring optimizer or generator state can abort the process.
/// </summary>
internal static class TrainingCheckpoint
{
    public const string CheckpointsFolder = "checkpoints";
    public const string LatestFile = "latest";
    public const string ModelFile = "model.safetensors";
    public const string ConfigFile = "config.json";
    public const string OptimizerFile = "optimizer.bin";
    public const string RngFile = "rng_state.bin";
    public const string StateFile = "trainer_state.json";

    /// <summary>Called after each file of a checkpoint is written, with its path (tests throw here to simulate a crash).</summary>
    internal static Action<string>? FileWritten { get; set; }

    public static string Save(string outputFolder, TrainingState state, Mask2FormerForUniversalSegmentation network, OptimizerHelper optimizer,
        JsonObject schedule, int keep)
    {
        var root = Path.Combine(outputFolder, CheckpointsFolder);
        Directory.CreateDirectory(root);
        var name = Path.GetFileName(FolderOf(outputFolder, state.Step));
        var temp = Path.Combine(root, $".{name}.{Guid.NewGuid():N}.tmp");
        Directory.CreateDirectory(temp);
        try
        {
            WriteFiles(temp, state, network, optimizer, schedule);
        }
        catch
        {
            // A full disk, say: the half-written folder goes now rather than at the next run.
            try { Directory.Delete(temp, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }

        var final = Path.Combine(root, name);
        if (Directory.Exists(final)) Directory.Delete(final, recursive: true);
        Directory.Move(temp, final);
        AtomicFile.WriteAllText(Path.Combine(root, LatestFile), name);
        Prune(root, name, keep);
        return final;
    }

    private static void WriteFiles(string temp, TrainingState state, Mask2FormerForUniversalSegmentation network, OptimizerHelper optimizer, JsonObject schedule)
    {
        Write(Path.Combine(temp, ConfigFile), s => s.Write(new System.Text.UTF8Encoding(false).GetBytes(network.Config.ToJson())));
        ModuleCheckpoint.Save(network, Path.Combine(temp, ModelFile));
        FileWritten?.Invoke(Path.Combine(temp, ModelFile));
        Write(Path.Combine(temp, OptimizerFile), s =>
        {
            using var writer = new BinaryWriter(s, System.Text.Encoding.UTF8, leaveOpen: true);
            optimizer.save_state_dict(writer);
        });
        Write(Path.Combine(temp, RngFile), s =>
        {
            using var rng = torch.random.get_rng_state();
            s.Write(rng.data<byte>().ToArray());
        });
        var json = new JsonObject
        {
            ["step"] = state.Step,
            ["cursor"] = state.Cursor,
            ["total_steps"] = state.TotalSteps,
            ["seed"] = state.Seed,
            ["batch_size"] = state.BatchSize,
            ["lr_factor"] = state.LearningRateFactor,
            ["schedule"] = schedule,
            ["image_size"] = state.ImageSize,
            ["data"] = state.Data,
            ["sha256"] = new JsonObject(new[] { ConfigFile, ModelFile, OptimizerFile, RngFile }
                .Select(f => KeyValuePair.Create(f, (JsonNode?)Sha256(Path.Combine(temp, f))))),
            ["written_utc"] = DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture),
        };
        Write(Path.Combine(temp, StateFile), s => s.Write(new System.Text.UTF8Encoding(false).GetBytes(json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }))));
    }

    private static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(stream));
    }

    /// <summary>The folder of the checkpoint of <paramref name="step"/> in <paramref name="outputFolder"/>.</summary>
    public static string FolderOf(string outputFolder, long step) =>
        Path.Combine(outputFolder, CheckpointsFolder, "step-" + step.ToString("D8", CultureInfo.InvariantCulture));

    private static void Write(string path, Action<Stream> write)
    {
        using (var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
        {
            write(stream);
            stream.Flush(flushToDisk: true);
        }
        FileWritten?.Invoke(path);
    }

    /// <summary>
    /// Removes what writes killed half-way (a crashed or killed process) left in an output folder:
    /// temporary checkpoint folders and the temporary files of <c>latest</c> and of the model files at
    /// the top of the folder (which may be as large as the model). Run before training writes there.
    /// </summary>
    public static void RemoveInterruptedWrites(string outputFolder, IEnumerable<string> topFiles)
    {
        foreach (var file in topFiles) AtomicFile.DeleteLeftovers(Path.Combine(outputFolder, file));
        var root = Path.Combine(outputFolder, CheckpointsFolder);
        if (!Directory.Exists(root)) return;
        AtomicFile.DeleteLeftovers(Path.Combine(root, LatestFile));
        DeleteTemporaryFolders(root);
    }

    private static void DeleteTemporaryFolders(string root)
    {
        foreach (var dir in Directory.GetDirectories(root, ".step-*.tmp"))
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    /// <summary>Removes old checkpoints beyond <paramref name="keep"/> and temporary folders of interrupted writes.</summary>
    private static void Prune(string root, string current, int keep)
    {
        DeleteTemporaryFolders(root);
        var old = Directory.GetDirectories(root, "step-*").Select(Path.GetFileName).Where(n => n != current).Order(StringComparer.Ordinal).ToList();
        for (var i = 0; i < old.Count - (keep - 1); i++)
        {
            try { Directory.Delete(Path.Combine(root, old[i]!), recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    /// <summary>The folder of the current checkpoint, or null when there is none.</summary>
    public static string? Latest(string outputFolder)
    {
        var pointer = Path.Combine(outputFolder, CheckpointsFolder, LatestFile);
        if (!File.Exists(pointer)) return null;
        var name = File.ReadAllText(pointer).Trim();
        var dir = Path.Combine(outputFolder, CheckpointsFolder, name);
        if (name.Length == 0 || name.Contains('/') || name.Contains('\\') || !Directory.Exists(dir))
            throw new DataFormatException($"'{LatestFile}' names checkpoint '{name}', which does not exist", pointer);
        return dir;
    }

    /// <summary>Reads <c>trainer_state.json</c> of a checkpoint folder.</summary>
    /// <exception cref="DataFormatException">The file is missing a field or is not JSON.</exception>
    public static TrainingState ReadState(string folder)
    {
        var statePath = Path.Combine(folder, StateFile);
        try
        {
            InputFile.RequireRegular(statePath, "the training state");
            var node = JsonNode.Parse(File.ReadAllText(statePath)) as JsonObject ?? throw new DataFormatException("not a JSON object", statePath);
            return new TrainingState((long)node["step"]!, (long)node["cursor"]!, (long)node["total_steps"]!, (int)node["seed"]!, (int)node["batch_size"]!,
                (double)node["lr_factor"]!, folder, (int?)node["image_size"], (string?)node["data"]);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or NullReferenceException or FormatException and not DataFormatException)
        {
            throw new DataFormatException($"the training state cannot be read ({e.Message})", statePath, inner: e);
        }
    }

    /// <summary>
    /// Restores weights, optimizer state and the random generator from a checkpoint folder, after
    /// checking every file against the checksums in its state (checkpoints of older versions have
    /// none) and the generator state against libtorch's own rules.
    /// </summary>
    /// <exception cref="DataFormatException">A file is missing, damaged or of another libtorch; the message names it.</exception>
    public static void Restore(string folder, Mask2FormerForUniversalSegmentation network, OptimizerHelper optimizer)
    {
        var statePath = Path.Combine(folder, StateFile);
        var node = JsonNode.Parse(File.ReadAllText(statePath)) as JsonObject;
        if (node?["sha256"] is JsonObject sums)
        {
            foreach (var (file, sum) in sums)
            {
                var path = Path.Combine(folder, file);
                if (file.Contains('/') || file.Contains('\\') || sum is null) throw new DataFormatException($"the checksum entry '{file}' is not a file of the checkpoint", statePath);
                InputFile.RequireRegular(path, "checkpoint file");
                if (Sha256(path) != (string?)sum)
                    throw new DataFormatException($"the file does not match the SHA-256 that {StateFile} recorded when the checkpoint was written: it was damaged or replaced since (truncated copy, full disk, another run's file); resume from another checkpoint or start over", path);
            }
        }
        var rngPath = Path.Combine(folder, RngFile);
        InputFile.RequireRegular(rngPath, "the random-generator state");
        var rng = File.ReadAllBytes(rngPath);
        RngState.Check(rng, rngPath);

        ModuleCheckpoint.Load(network, Path.Combine(folder, ModelFile));
        var optimizerPath = Path.Combine(folder, OptimizerFile);
        InputFile.RequireRegular(optimizerPath, "the optimizer state");
        try
        {
            using var reader = new BinaryReader(File.OpenRead(optimizerPath));
            optimizer.load_state_dict(reader);
        }
        catch (Exception e) when (e is EndOfStreamException or IOException or ArgumentException or InvalidOperationException or FormatException or OverflowException
                                   or System.Runtime.InteropServices.ExternalException)
        {
            throw new DataFormatException($"the optimizer state cannot be read: truncated, damaged or written for another model ({e.Message})", optimizerPath, inner: e);
        }
        using var rngState = torch.tensor(rng, ScalarType.Byte);
        torch.random.set_rng_state(rngState);
    }
}
