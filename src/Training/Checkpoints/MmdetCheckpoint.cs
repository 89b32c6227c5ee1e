namespace Microsoft.ML.Mask2Former.Training.Checkpoints;

/// <summary>
/// The weights of an mmdetection (mmcv runner) checkpoint: a <c>torch.save</c> dict with
/// <c>meta</c>, <c>state_dict</c> and <c>optimizer</c> (a bare state dict is accepted too). Only
/// <c>state_dict</c> is read. Its <c>ema_*</c> entries — the copies mmdetection's
/// <c>ExpMomentumEMAHook</c> keeps as buffers, holding other values than the weights — are left
/// out, and a <c>module.</c> prefix (a model saved inside DataParallel) is removed, as mmcv's
/// <c>load_checkpoint</c> does.
/// </summary>
public static class MmdetCheckpoint
{
    /// <summary>The prefix of the EMA copies (<c>ema_</c> + the name with dots turned into underscores).</summary>
    public const string EmaPrefix = "ema_";

    /// <summary>The weights of an open checkpoint, in saved order, without the EMA copies.</summary>
    /// <exception cref="DataFormatException">The file holds no state dict, or a state-dict entry is not a tensor.</exception>
    public static IReadOnlyList<KeyValuePair<string, PthTensorInfo>> StateDict(PthFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        if (file.Root is not PickleDict root) throw new DataFormatException("the checkpoint does not hold a dict", file.FilePath);
        var dict = root;
        if (root.TryGetValue("state_dict", out var inner))
            dict = inner as PickleDict ?? throw new DataFormatException("the checkpoint's 'state_dict' is not a dict", file.FilePath);
        var tensors = new List<KeyValuePair<string, PthTensorInfo>>();
        foreach (var (key, value) in dict.Items)
        {
            if (key is not string name) throw new DataFormatException($"the state dict has a key that is not a string ({key})", file.FilePath);
            if (name.StartsWith(EmaPrefix, StringComparison.Ordinal)) continue;
            if (value is not PthTensorInfo tensor)
                throw new DataFormatException(ReferenceEquals(dict, root) && !root.ContainsKey("state_dict")
                    ? $"the checkpoint has no 'state_dict' and its entry '{name}' is not a tensor"
                    : $"state-dict entry '{name}' is not a tensor", file.FilePath);
            tensors.Add(new(name.StartsWith("module.", StringComparison.Ordinal) ? name["module.".Length..] : name, tensor));
        }
        return tensors;
    }

    /// <summary>The checkpoint's <c>meta</c> dict (<c>CLASSES</c>, <c>mmdet_version</c>, <c>config</c>, …), or <see langword="null"/>.</summary>
    public static PickleDict? Meta(PthFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        return file.Root is PickleDict root && root.TryGetValue("meta", out var meta) ? meta as PickleDict : null;
    }
}
