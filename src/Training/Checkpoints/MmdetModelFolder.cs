using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.ML.Mask2Former.Training.Modeling;

namespace Microsoft.ML.Mask2Former.Training.Checkpoints;

/// <summary>
/// A model folder in mmdetection's form: <c>config.json</c> (the mmdetection config as JSON, see
/// <see cref="MmdetConfig"/>) and <c>checkpoint.pth</c> (what mmdetection's runner saves). The
/// weights load through the documented name map into our network, strictly by default.
/// </summary>
public static class MmdetModelFolder
{
    /// <summary>The configuration file of a model folder.</summary>
    public const string ConfigFile = "config.json";

    /// <summary>The checkpoint file of an mmdetection model folder.</summary>
    public const string CheckpointFile = "checkpoint.pth";

    /// <summary>Whether <paramref name="directory"/> holds an mmdetection <c>config.json</c> (rather than ours / Hugging Face's).</summary>
    public static bool IsMmdetFolder(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        var path = Path.Combine(directory, ConfigFile);
        if (!File.Exists(path)) return false;
        try
        {
            return MmdetConfig.IsMmdet(JsonNode.Parse(File.ReadAllText(path)));
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>Builds the network of the folder's <c>config.json</c> and loads its <c>checkpoint.pth</c> (strict); the network is in eval mode.</summary>
    /// <exception cref="DataFormatException">A file is malformed or refused.</exception>
    /// <exception cref="CheckpointMismatchException">The weights do not match the configuration; every difference is listed.</exception>
    public static Mask2FormerForUniversalSegmentation Load(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        var config = MmdetConfig.Load(Path.Combine(directory, ConfigFile));
        var network = new Mask2FormerForUniversalSegmentation(config.Model);
        try
        {
            LoadWeights(network, Path.Combine(directory, CheckpointFile));
        }
        catch
        {
            network.Dispose();
            throw;
        }
        network.eval();
        return network;
    }

    /// <summary>
    /// Converts a model folder of either kind into ours — <c>config.json</c> and
    /// <c>model.safetensors</c>, which load without the name map. The config's <c>categories</c>
    /// carry the class names and thing flags; mmdetection configurations carry no dataset category
    /// ids, so the ids are class index + 1 (edit them for COCO's).
    /// </summary>
    /// <returns>The loaded network's configuration.</returns>
    /// <exception cref="DataFormatException">A source file is malformed or refused.</exception>
    /// <exception cref="CheckpointMismatchException">The source weights do not match its configuration.</exception>
    public static Mask2FormerConfig Convert(string sourceDirectory, string destinationDirectory)
    {
        ArgumentException.ThrowIfNullOrEmpty(sourceDirectory);
        ArgumentException.ThrowIfNullOrEmpty(destinationDirectory);
        if (Path.GetFullPath(sourceDirectory).TrimEnd('/') == Path.GetFullPath(destinationDirectory).TrimEnd('/'))
            throw new ArgumentException($"convert needs another folder to write to than the source '{sourceDirectory}'");
        using var network = Mask2FormerForUniversalSegmentation.FromPretrained(sourceDirectory);
        network.SavePretrained(destinationDirectory);
        return network.Config;
    }

    /// <summary>Loads an mmdetection checkpoint's <c>state_dict</c> (without its <c>ema_*</c> copies) into <paramref name="network"/>.</summary>
    /// <param name="network">The network, built from the matching configuration.</param>
    /// <param name="checkpointPath">The <c>.pth</c> file.</param>
    /// <param name="strict">Require every name and shape to match (default); otherwise load what matches and report the rest.</param>
    /// <exception cref="DataFormatException">The file is malformed or refused.</exception>
    /// <exception cref="CheckpointMismatchException">Strict and the names or shapes differ; nothing was loaded.</exception>
    public static LoadReport LoadWeights(Mask2FormerForUniversalSegmentation network, string checkpointPath, bool strict = true)
    {
        ArgumentNullException.ThrowIfNull(network);
        using var file = PthFile.Open(checkpointPath);
        var mapped = MmdetNameMap.Map(file, MmdetCheckpoint.StateDict(file), network);
        return ModuleCheckpoint.Load(network, mapped, file.FilePath, strict);
    }
}
