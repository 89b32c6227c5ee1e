namespace Microsoft.ML.Mask2Former.Training.Checkpoints;

/// <summary>
/// Loads and saves a module's state dict (parameters and persistent buffers) by name from and to
/// safetensors, with Hugging Face naming. Loading checks every name and shape first; in strict
/// mode any missing or unexpected name or shape mismatch aborts the load before anything is
/// copied, with all of them listed.
/// </summary>
public static class ModuleCheckpoint
{
    /// <summary>Loads <paramref name="path"/> into <paramref name="module"/>.</summary>
    /// <param name="module">The model.</param>
    /// <param name="path">A safetensors file.</param>
    /// <param name="strict">Require an exact match of names and shapes (default).</param>
    /// <param name="prefix">Only checkpoint names starting with this prefix are considered, with the prefix removed (e.g. a backbone out of a full checkpoint).</param>
    /// <param name="ignore">Checkpoint names (after the prefix) to leave out, neither loaded nor reported as unexpected.</param>
    /// <exception cref="CheckpointMismatchException">Strict and the names or shapes differ.</exception>
    /// <exception cref="DataFormatException">The file is not valid safetensors, a dtype cannot be converted, or a tensor holds NaN or infinite values.</exception>
    public static LoadReport Load(nn.Module module, string path, bool strict = true, string prefix = "", Func<string, bool>? ignore = null)
    {
        using var file = SafeTensorsFile.Open(path);
        return Load(module, file, strict, prefix, ignore);
    }

    /// <summary>Loads an open safetensors file into <paramref name="module"/>; see <see cref="Load(nn.Module, string, bool, string, Func{string, bool})"/>.</summary>
    public static LoadReport Load(nn.Module module, SafeTensorsFile file, bool strict = true, string prefix = "", Func<string, bool>? ignore = null)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(prefix);
        var source = file.Entries.Where(e => e.Name.StartsWith(prefix, StringComparison.Ordinal))
            .Where(e => ignore is null || !ignore(e.Name[prefix.Length..]))
            .Select(e => new CheckpointTensor(e.Name[prefix.Length..], e.Name, e.Shape, e.ElementType, () => file.ReadTensor(e)))
            .ToList();
        return Load(module, source, file.FilePath, strict);
    }

    /// <summary>
    /// Loads named tensors from any checkpoint format into <paramref name="module"/>: every name and
    /// shape is checked first; when <paramref name="strict"/>, any missing or unexpected name or
    /// shape mismatch aborts the load before anything is copied. Messages use each tensor's
    /// <see cref="CheckpointTensor.SourceName"/>.
    /// </summary>
    internal static LoadReport Load(nn.Module module, IReadOnlyList<CheckpointTensor> tensors, string? filePath, bool strict)
    {
        var target = StateDict(module);
        var source = new Dictionary<string, CheckpointTensor>(StringComparer.Ordinal);
        foreach (var t in tensors)
            if (!source.TryAdd(t.Name, t)) throw new DataFormatException($"tensor '{t.Name}' appears twice ('{source[t.Name].SourceName}' and '{t.SourceName}')", filePath);
        var missing = target.Keys.Where(k => !source.ContainsKey(k)).Order(StringComparer.Ordinal).ToList();
        var unexpected = source.Values.Where(t => !target.ContainsKey(t.Name)).Select(t => t.SourceName).Order(StringComparer.Ordinal).ToList();
        var mismatches = new List<ShapeMismatch>();
        var matched = new List<CheckpointTensor>();
        foreach (var (name, tensor) in target)
        {
            if (!source.TryGetValue(name, out var entry)) continue;
            if (!tensor.shape.SequenceEqual(entry.Shape)) mismatches.Add(new ShapeMismatch(entry.SourceName, tensor.shape, entry.Shape.ToArray()));
            else matched.Add(entry);
        }
        mismatches.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        var report = new LoadReport(matched.Select(t => t.SourceName).ToList(), missing, unexpected, mismatches);
        if (strict && !report.IsExact) throw new CheckpointMismatchException(report, filePath);

        using var noGrad = no_grad();
        foreach (var entry in matched)
        {
            var destination = target[entry.Name];
            var stored = entry.ElementType.ToScalarType();
            if (stored != destination.dtype && (!IsFloating(stored) || !IsFloating(destination.dtype)))
                throw new DataFormatException($"tensor '{entry.SourceName}' is {entry.ElementType.ToHeaderName()} but the model holds {destination.dtype}; only floating-point types convert", filePath);
            using var scope = NewDisposeScope();
            var value = entry.Read();
            // NaN or infinite weights make every output NaN: refuse them by name rather than give all-NaN logits later.
            if (IsFloating(stored) && value.numel() > 0 && !value.isfinite().all().item<bool>())
                throw new DataFormatException($"tensor '{entry.SourceName}' holds {(~value.isfinite()).sum().item<long>()} NaN or infinite values of {value.numel()}: the weights are damaged (or saved from a run that diverged)", filePath);
            destination.copy_(value);
        }
        return report;
    }

    /// <summary>Writes the state dict of <paramref name="module"/> (every parameter and persistent buffer) to a safetensors file.</summary>
    public static void Save(nn.Module module, string path, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(module);
        SafeTensorsWriter.Save(path, StateDict(module), metadata ?? new Dictionary<string, string> { ["format"] = "pt" });
    }

    /// <summary>
    /// The module's state dict, safe to take inside a dispose scope. TorchSharp hands out some
    /// module tensors (an Embedding's weight, for one) as wrappers registered in the current
    /// scope; when that scope ends they are disposed and later state dicts silently lack them.
    /// Detaching them from the scope keeps the module whole.
    /// </summary>
    internal static Dictionary<string, Tensor> StateDict(nn.Module module)
    {
        var dict = module.state_dict();
        foreach (var t in dict.Values) t.DetachFromDisposeScope();
        return dict;
    }

    private static bool IsFloating(ScalarType type) =>
        type is ScalarType.Float32 or ScalarType.Float64 or ScalarType.Float16 or ScalarType.BFloat16;
}
