namespace Microsoft.ML.Mask2Former.Training.Checkpoints;

/// <summary>
/// A safetensors file opened for reading into TorchSharp tensors: an 8-byte little-endian header
/// length, a JSON header naming every tensor (dtype, shape, byte range), then the raw
/// little-endian data. Opening and validation (bounds, JSON, dtypes, shape/byte-count agreement,
/// ranges inside the file, tensors tiling the data exactly) are the main library's <see cref="SafeTensorsReader"/>,
/// so a bad file fails with a <see cref="DataFormatException"/> before any tensor is read. The
/// data is memory mapped, never read into managed memory: each tensor is copied once, straight
/// into the TorchSharp tensor that receives it.
/// </summary>
public sealed class SafeTensorsFile : IDisposable
{
    /// <summary>Largest header accepted (the limit of the reference Rust implementation).</summary>
    public const long MaxHeaderBytes = SafeTensorsReader.MaxHeaderBytes;

    // Bytes copied per step between the mapping and a tensor (well below what a span addresses).
    internal const int ChunkBytes = 1 << 28;

    private readonly SafeTensorsReader _reader;

    private SafeTensorsFile(SafeTensorsReader reader) => _reader = reader;

    /// <summary>The file this was opened from.</summary>
    public string FilePath => _reader.FilePath;

    /// <summary>Every tensor, ordered by name (ordinal).</summary>
    public IReadOnlyList<SafeTensorsTensorInfo> Entries => _reader.Entries;

    /// <summary>The <c>__metadata__</c> string map of the header (empty when absent).</summary>
    public IReadOnlyDictionary<string, string> Metadata => _reader.Metadata;

    /// <summary>Size of the data section in bytes.</summary>
    public long DataLength => _reader.DataLength;

    /// <summary>Opens and validates <paramref name="path"/>.</summary>
    /// <exception cref="DataFormatException">The file is not a valid safetensors file; the message says what is wrong.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static SafeTensorsFile Open(string path) => new(SafeTensorsReader.Open(path));

    /// <summary>Whether a tensor of that name is stored.</summary>
    public bool Contains(string name) => _reader.Contains(name);

    /// <summary>The entry of a tensor, or <see langword="null"/>.</summary>
    public SafeTensorsTensorInfo? Find(string name) => _reader.Find(name);

    /// <summary>The entry of a tensor.</summary>
    /// <exception cref="KeyNotFoundException">No tensor has that name.</exception>
    public SafeTensorsTensorInfo this[string name] => _reader[name];

    /// <summary>The raw little-endian bytes of a tensor, valid until this file is disposed.</summary>
    public ReadOnlySpan<byte> GetBytes(SafeTensorsTensorInfo entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return _reader.GetBytes(entry);
    }

    /// <summary>Reads a tensor into a new CPU tensor of its stored dtype and shape.</summary>
    public Tensor ReadTensor(string name) => ReadTensor(this[name]);

    /// <summary>Reads a tensor into a new CPU tensor of its stored dtype and shape.</summary>
    public Tensor ReadTensor(SafeTensorsTensorInfo entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var tensor = empty(entry.ShapeArray, entry.ElementType.ToScalarType());
        try
        {
            // Chunked, so tensors beyond what one span can address are read too.
            var elementSize = entry.ElementType.ElementSize();
            var flat = tensor.view(-1);
            var chunk = ChunkBytes / elementSize;
            for (long first = 0; first < entry.ElementCount; first += chunk)
            {
                var count = Math.Min(chunk, entry.ElementCount - first);
                var source = _reader.GetBytes(entry, first * elementSize, (int)(count * elementSize));
                using var slice = flat.narrow(0, first, count);
                source.CopyTo(slice.bytes);
            }
            flat.Dispose();
            return tensor;
        }
        catch
        {
            tensor.Dispose();
            throw;
        }
    }

    /// <inheritdoc/>
    public void Dispose() => _reader.Dispose();
}
