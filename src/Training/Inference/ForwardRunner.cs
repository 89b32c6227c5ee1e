using Microsoft.ML.Mask2Former.Training.Checkpoints;
using Microsoft.ML.Mask2Former.Training.Modeling;
using Microsoft.ML.Mask2Former.Training.Runtime;

namespace Microsoft.ML.Mask2Former.Training.Inference;

/// <summary>
/// Runs a model over every <c>&lt;prefix&gt;pixel_values</c> tensor of a safetensors file and writes
/// <c>&lt;prefix&gt;class_queries_logits</c> and <c>&lt;prefix&gt;masks_queries_logits</c> (what
/// <c>m2f forward</c> does; used to compare with other implementations).
/// </summary>
public static class ForwardRunner
{
    /// <summary>The suffix that marks an input tensor.</summary>
    public const string InputSuffix = "pixel_values";

    /// <summary>
    /// Loads the model in <paramref name="modelDirectory"/> (<c>config.json</c> + <c>model.safetensors</c>),
    /// runs every input of <paramref name="inputsPath"/> and writes the logits to <paramref name="outputPath"/> (atomically).
    /// </summary>
    /// <returns>The prefixes that were run, in name order.</returns>
    /// <exception cref="DataFormatException">A file is malformed, the weights do not fit the configuration, no input is found, an input has
    /// a size of 0, or an input or the logits hold NaN or infinite values.</exception>
    /// <exception cref="ArgumentException">An input is not [B, 3, H, W] floating point.</exception>
    public static IReadOnlyList<string> Run(string modelDirectory, string inputsPath, string outputPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelDirectory);
        ArgumentException.ThrowIfNullOrEmpty(inputsPath);
        ArgumentException.ThrowIfNullOrEmpty(outputPath);
        if (!Directory.Exists(modelDirectory)) throw new DirectoryNotFoundException($"model folder not found: {Path.GetFullPath(modelDirectory)}");
        Mask2FormerForUniversalSegmentation network;
        try
        {
            network = Mask2FormerForUniversalSegmentation.FromPretrained(modelDirectory);
        }
        catch (CheckpointMismatchException e)
        {
            throw new DataFormatException(e.Message, e.FilePath, inner: e);
        }
        using (network)
        using (var inputs = SafeTensorsFile.Open(inputsPath))
        {
            var entries = inputs.Entries.Where(e => e.Name.EndsWith(InputSuffix, StringComparison.Ordinal)).ToList();
            if (entries.Count == 0)
                throw new DataFormatException($"no tensor named '<prefix>{InputSuffix}' (of {inputs.Entries.Count} tensors)", inputs.FilePath);
            var results = new List<KeyValuePair<string, Tensor>>();
            try
            {
                using var noGrad = no_grad();
                foreach (var entry in entries)
                {
                    var prefix = entry.Name[..^InputSuffix.Length];
                    CheckShape(entry, inputs.FilePath);
                    using var region = NoCollectionRegion.Enter();
                    using var scope = NewDisposeScope();
                    var pixels = inputs.ReadTensor(entry);
                    if (pixels.dtype != ScalarType.Float32) pixels = pixels.to(ScalarType.Float32);
                    if (!pixels.isfinite().all().item<bool>())
                        throw new DataFormatException($"tensor '{entry.Name}' holds {(~pixels.isfinite()).sum().item<long>()} NaN or infinite values; the network would give NaN logits", inputs.FilePath);
                    using var output = network.forward(pixels);
                    foreach (var (name, logits) in new[] { ("class_queries_logits", output.ClassQueriesLogits), ("masks_queries_logits", output.MasksQueriesLogits) })
                    {
                        if (!logits.isfinite().all().item<bool>())
                            throw new DataFormatException($"the network's {name} for '{entry.Name}' hold {(~logits.isfinite()).sum().item<long>()} NaN or infinite values of {logits.numel()} (inputs of extreme magnitude?)", inputs.FilePath);
                    }
                    results.Add(KeyValuePair.Create(prefix + "class_queries_logits", output.ClassQueriesLogits.clone().DetachFromDisposeScope()));
                    results.Add(KeyValuePair.Create(prefix + "masks_queries_logits", output.MasksQueriesLogits.clone().DetachFromDisposeScope()));
                }
                SafeTensorsWriter.Save(outputPath, results);
            }
            catch (ArgumentException e)
            {
                throw new ArgumentException($"{e.Message} (in {inputs.FilePath})", e);
            }
            finally
            {
                foreach (var (_, t) in results) t.Dispose();
            }
            return entries.Select(e => e.Name[..^InputSuffix.Length]).ToList();
        }
    }

    /// <summary>Refuses an input with a size of 0 (an empty batch, say) before it is read; the network checks the rest of the shape.</summary>
    private static void CheckShape(SafeTensorsTensorInfo entry, string path)
    {
        var shape = entry.Shape;
        if (shape.Any(d => d == 0))
            throw new DataFormatException($"tensor '{entry.Name}' has shape [{string.Join(", ", shape)}]: it holds no image", path);
    }
}
