namespace Microsoft.ML.Mask2Former.Training.Checkpoints;

/// <summary>
/// One storage of a <c>torch.save</c> archive: the raw little-endian elements in the archive
/// entry <c>&lt;prefix&gt;/data/&lt;key&gt;</c>, checked against the element count the pickle declares.
/// </summary>
public sealed class PthStorage
{
    internal PthStorage(string key, string torchType, SafeTensorsElementType dtype, long elementCount, string entryName)
    {
        Key = key;
        TorchType = torchType;
        ElementType = dtype;
        ElementCount = elementCount;
        EntryName = entryName;
    }

    /// <summary>The storage key (the archive file name under <c>data/</c>).</summary>
    public string Key { get; }

    /// <summary>The pickled storage class, e.g. <c>torch.FloatStorage</c>.</summary>
    public string TorchType { get; }

    /// <summary>The element type.</summary>
    public SafeTensorsElementType ElementType { get; }

    /// <summary>Elements in the storage.</summary>
    public long ElementCount { get; }

    /// <summary>Bytes in the storage.</summary>
    public long ByteLength => ElementCount * ElementType.ElementSize();

    /// <summary>The archive entry holding the bytes.</summary>
    internal string EntryName { get; }
}
