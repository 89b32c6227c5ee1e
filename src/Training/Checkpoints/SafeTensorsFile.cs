using System.IO.MemoryMappedFiles;
using System.Text.Json;
using Microsoft.ML.Mask2Former.Formats;
using static TorchSharp.torch;

namespace Microsoft.ML.Mask2Former.Training.Checkpoints;

/// <summary>
/// A safetensors file opened for reading: an 8-byte little-endian header length, a JSON header
/// naming every tensor (dtype, shape, byte range), then the raw little-endian data. The header is
/// validated completely when the file is opened (bounds, JSON, dtypes, shape/byte-count agreement,
/// ranges inside the file, no overlaps), so a bad file fails with a <see cref="DataFormatException"/>
/// before any tensor is read. The data is memory mapped, never read into managed memory: each
/// tensor is copied once, straight into the TorchSharp tensor that receives it.
/// </summary>
public sealed unsafe class SafeTensorsFile : IDisposable
{
    /// <summary>Largest header accepted (the limit of the reference Rust implementation).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    // Bytes copied per step between the mapping and a tensor (well below what a span addresses).
    internal const int ChunkBytes = 1 << 28;

    private readonly MemoryMappedFile? _map;
    private readonly MemoryMappedViewAccessor? _view;
    private byte* _pointer;
    private readonly long _dataStart;
    private readonly Dictionary<string, SafeTensorsEntry> _byName;

    private SafeTensorsFile(string path, MemoryMappedFile? map, MemoryMappedViewAccessor? view, byte* pointer, long dataStart,
        long dataLength, List<SafeTensorsEntry> entries, Dictionary<string, string> metadata)
    {
        FilePath = path;
        _map = map;
        _view = view;
        _pointer = pointer;
        _dataStart = dataStart;
        DataLength = dataLength;
        Entries = entries;
        _byName = entries.ToDictionary(e => e.Name, StringComparer.Ordinal);
        Metadata = metadata;
    }

    /// <summary>The file this was opened from.</summary>
    public string FilePath { get; }

    /// <summary>Every tensor, ordered by name (ordinal).</summary>
    public IReadOnlyList<SafeTensorsEntry> Entries { get; }

    /// <summary>The <c>__metadata__</c> string map of the header (empty when absent).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Size of the data section in bytes.</summary>
    public long DataLength { get; }

    /// <summary>Opens and validates <paramref name="path"/>.</summary>
    /// <exception cref="DataFormatException">The file is not a valid safetensors file; the message says what is wrong.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static SafeTensorsFile Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("safetensors data is little-endian; big-endian hosts are not supported.");
        var full = Path.GetFullPath(path);
        if (!File.Exists(full)) throw new FileNotFoundException($"safetensors file not found: {full}", full);

        byte[] header;
        long fileLength;
        using (var stream = new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.None))
        {
            fileLength = stream.Length;
            if (fileLength < 8)
                throw new DataFormatException($"the file has {fileLength} bytes, too few for the 8-byte header length of a safetensors file", full);
            Span<byte> prefix = stackalloc byte[8];
            stream.ReadExactly(prefix);
            var headerLength = BitConverter.ToUInt64(prefix);
            if (headerLength > (ulong)(fileLength - 8))
                throw new DataFormatException($"the header length {headerLength} is larger than the {fileLength - 8} bytes that follow it: the file is truncated or not safetensors", full);
            if (headerLength > MaxHeaderBytes)
                throw new DataFormatException($"the header length {headerLength} exceeds the limit of {MaxHeaderBytes} bytes", full);
            if (headerLength < 2)
                throw new DataFormatException($"the header length {headerLength} is too small for a JSON object", full);
            header = new byte[(int)headerLength];
            stream.ReadExactly(header);
        }

        var dataStart = 8 + header.LongLength;
        var dataLength = fileLength - dataStart;
        var (entries, metadata) = ParseHeader(header, dataLength, full);

        if (dataLength == 0)
            return new SafeTensorsFile(full, null, null, null, dataStart, 0, entries, metadata);
        var map = MemoryMappedFile.CreateFromFile(full, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        try
        {
            var view = map.CreateViewAccessor(0, fileLength, MemoryMappedFileAccess.Read);
            byte* pointer = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
            return new SafeTensorsFile(full, map, view, pointer + view.PointerOffset, dataStart, dataLength, entries, metadata);
        }
        catch
        {
            map.Dispose();
            throw;
        }
    }

    /// <summary>Whether a tensor of that name is stored.</summary>
    public bool Contains(string name) => _byName.ContainsKey(name);

    /// <summary>The entry of a tensor, or <see langword="null"/>.</summary>
    public SafeTensorsEntry? Find(string name) => _byName.GetValueOrDefault(name);

    /// <summary>The entry of a tensor.</summary>
    /// <exception cref="KeyNotFoundException">No tensor has that name.</exception>
    public SafeTensorsEntry this[string name] =>
        _byName.TryGetValue(name, out var entry) ? entry : throw new KeyNotFoundException($"'{name}' is not in {FilePath}");

    /// <summary>The raw little-endian bytes of a tensor, valid until this file is disposed.</summary>
    public ReadOnlySpan<byte> GetBytes(SafeTensorsEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ObjectDisposedException.ThrowIf(_pointer is null && DataLength > 0, this);
        if (entry.ByteLength > int.MaxValue)
            throw new NotSupportedException($"{entry.Name} has {entry.ByteLength} bytes, more than one span can address.");
        if (entry.ByteLength == 0) return ReadOnlySpan<byte>.Empty;
        return new ReadOnlySpan<byte>(_pointer + _dataStart + entry.Begin, (int)entry.ByteLength);
    }

    /// <summary>Reads a tensor into a new CPU tensor of its stored dtype and shape.</summary>
    public Tensor ReadTensor(string name) => ReadTensor(this[name]);

    /// <summary>Reads a tensor into a new CPU tensor of its stored dtype and shape.</summary>
    public Tensor ReadTensor(SafeTensorsEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ObjectDisposedException.ThrowIf(_pointer is null && DataLength > 0, this);
        var tensor = empty(entry.ShapeArray, entry.DType.ToScalarType());
        try
        {
            // Chunked, so tensors beyond what one span can address are read too.
            var elementSize = entry.DType.ElementSize();
            var flat = tensor.view(-1);
            var chunk = ChunkBytes / elementSize;
            for (long first = 0; first < entry.ElementCount; first += chunk)
            {
                var count = Math.Min(chunk, entry.ElementCount - first);
                var source = new ReadOnlySpan<byte>(_pointer + _dataStart + entry.Begin + first * elementSize, (int)(count * elementSize));
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
    public void Dispose()
    {
        if (_view is not null && _pointer is not null)
        {
            _pointer = null;
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
        }
        _view?.Dispose();
        _map?.Dispose();
    }

    private static (List<SafeTensorsEntry>, Dictionary<string, string>) ParseHeader(byte[] header, long dataLength, string path)
    {
        if (header[0] != (byte)'{')
            throw new DataFormatException($"the header does not start with '{{' (first byte 0x{header[0]:X2}): not a safetensors file", path);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(header, new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (JsonException e)
        {
            throw new DataFormatException($"the header is not valid JSON: {e.Message}", path, inner: e);
        }
        catch (ArgumentException e)
        {
            throw new DataFormatException($"the header is not valid UTF-8 JSON: {e.Message}", path, inner: e);
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new DataFormatException($"the header is a JSON {root.ValueKind}, not an object", path);
            var entries = new List<SafeTensorsEntry>();
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in root.EnumerateObject())
            {
                if (!seen.Add(property.Name))
                    throw new DataFormatException($"the header names '{property.Name}' twice", path);
                if (property.Name == "__metadata__")
                {
                    if (property.Value.ValueKind != JsonValueKind.Object)
                        throw new DataFormatException($"__metadata__ is a JSON {property.Value.ValueKind}, not an object of strings", path);
                    foreach (var item in property.Value.EnumerateObject())
                    {
                        if (item.Value.ValueKind != JsonValueKind.String)
                            throw new DataFormatException($"__metadata__ value '{item.Name}' is a JSON {item.Value.ValueKind}, not a string", path);
                        if (!metadata.TryAdd(item.Name, item.Value.GetString()!))
                            throw new DataFormatException($"__metadata__ names '{item.Name}' twice", path);
                    }
                    continue;
                }
                entries.Add(ParseEntry(property, dataLength, path));
            }
            CheckOverlaps(entries, path);
            entries.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
            return (entries, metadata);
        }
    }

    private static SafeTensorsEntry ParseEntry(JsonProperty property, long dataLength, string path)
    {
        var name = property.Name;
        var info = property.Value;
        if (info.ValueKind != JsonValueKind.Object)
            throw new DataFormatException($"tensor '{name}': expected an object with dtype, shape and data_offsets, found a JSON {info.ValueKind}", path);
        if (!info.TryGetProperty("dtype", out var dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String)
            throw new DataFormatException($"tensor '{name}': missing or non-string 'dtype'", path);
        var dtypeName = dtypeElement.GetString();
        if (!SafeTensorsDTypes.TryParse(dtypeName, out var dtype))
            throw new DataFormatException($"tensor '{name}': unknown or unsupported dtype '{dtypeName}' (supported: F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL)", path);
        if (!info.TryGetProperty("shape", out var shapeElement) || shapeElement.ValueKind != JsonValueKind.Array)
            throw new DataFormatException($"tensor '{name}': missing or non-array 'shape'", path);
        var shape = new long[shapeElement.GetArrayLength()];
        var i = 0;
        long elements = 1;
        var overflow = false;
        foreach (var dim in shapeElement.EnumerateArray())
        {
            if (dim.ValueKind != JsonValueKind.Number || !dim.TryGetInt64(out var size) || size < 0)
                throw new DataFormatException($"tensor '{name}': shape entry {i} is not a non-negative integer ({dim.GetRawText()})", path);
            shape[i++] = size;
            try { elements = checked(elements * size); }
            catch (OverflowException) { overflow = true; }
        }
        if (!info.TryGetProperty("data_offsets", out var offsetsElement) || offsetsElement.ValueKind != JsonValueKind.Array || offsetsElement.GetArrayLength() != 2)
            throw new DataFormatException($"tensor '{name}': 'data_offsets' must be an array [begin, end]", path);
        var begin = ReadOffset(offsetsElement[0], name, path);
        var end = ReadOffset(offsetsElement[1], name, path);
        if (end < begin)
            throw new DataFormatException($"tensor '{name}': data_offsets [{begin}, {end}] end before they begin", path);
        if (end > dataLength)
            throw new DataFormatException($"tensor '{name}': data_offsets [{begin}, {end}] run past the end of the data section ({dataLength} bytes): offsets out of range or the file is truncated", path);
        long expected = 0;
        if (!overflow)
        {
            try { expected = checked(elements * dtype.ElementSize()); }
            catch (OverflowException) { overflow = true; }
        }
        if (overflow || expected != end - begin)
            throw new DataFormatException($"tensor '{name}': shape [{string.Join(", ", shape)}] of {dtype.ToHeaderName()} needs {(overflow ? "more than 2^63" : expected.ToString(System.Globalization.CultureInfo.InvariantCulture))} bytes but data_offsets [{begin}, {end}] hold {end - begin}", path);
        return new SafeTensorsEntry(name, dtype, shape, begin, end);
    }

    private static long ReadOffset(JsonElement element, string name, string path)
    {
        if (element.ValueKind != JsonValueKind.Number || !element.TryGetInt64(out var value) || value < 0)
            throw new DataFormatException($"tensor '{name}': data offset {element.GetRawText()} is not a non-negative 64-bit integer", path);
        return value;
    }

    private static void CheckOverlaps(List<SafeTensorsEntry> entries, string path)
    {
        var byOffset = entries.Where(e => e.ByteLength > 0).OrderBy(e => e.Begin).ThenBy(e => e.End).ToList();
        for (var k = 1; k < byOffset.Count; k++)
        {
            var previous = byOffset[k - 1];
            var current = byOffset[k];
            if (current.Begin < previous.End)
                throw new DataFormatException($"tensors '{previous.Name}' [{previous.Begin}, {previous.End}) and '{current.Name}' [{current.Begin}, {current.End}) overlap", path);
        }
    }
}
