using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;

namespace Microsoft.ML.Mask2Former.Formats;

/// <summary>
/// A safetensors file opened for reading, with no dependency beyond the base library: an 8-byte
/// little-endian header length, a JSON header naming every tensor (dtype, shape, byte range),
/// then the raw little-endian data. The header is validated completely when the file is opened
/// (length bounds, JSON, dtypes, shape/byte-count agreement, ranges inside the file, tensors tiling the data section exactly with no gap, overlap or trailing byte;
/// see <see cref="SafeTensorsHeader"/>), so a hostile or damaged file fails with a
/// <see cref="DataFormatException"/> naming the file (and the tensor, where one is at fault)
/// before any data is touched. The data section is memory mapped and read on demand.
/// </summary>
public sealed unsafe class SafeTensorsReader : IDisposable
{
    /// <summary>Largest header accepted (the limit of the reference Rust implementation).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    private readonly MemoryMappedFile? _map;
    private readonly MemoryMappedViewAccessor? _view;
    private byte* _pointer;
    private readonly long _dataStart;
    private readonly Dictionary<string, SafeTensorsTensorInfo> _byName;

    private SafeTensorsReader(string path, MemoryMappedFile? map, MemoryMappedViewAccessor? view, byte* pointer, SafeTensorsHeader header)
    {
        FilePath = path;
        _map = map;
        _view = view;
        _pointer = pointer;
        _dataStart = header.DataStart;
        DataLength = header.DataLength;
        Entries = header.Entries;
        Metadata = header.Metadata;
        _byName = header.Entries.ToDictionary(e => e.Name, StringComparer.Ordinal);
    }

    /// <summary>The file this was opened from (full path).</summary>
    public string FilePath { get; }

    /// <summary>Every tensor, ordered by name (ordinal).</summary>
    public IReadOnlyList<SafeTensorsTensorInfo> Entries { get; }

    /// <summary>The <c>__metadata__</c> string map of the header (empty when absent).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Size of the data section in bytes.</summary>
    public long DataLength { get; }

    /// <summary>Opens and validates <paramref name="path"/>.</summary>
    /// <exception cref="DataFormatException">The file is not a valid safetensors file; the message says what is wrong and where.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static SafeTensorsReader Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("safetensors data is little-endian; big-endian hosts are not supported.");
        var full = Path.GetFullPath(path);
        InputFile.RequireRegular(full, "safetensors file");

        SafeTensorsHeader header;
        using (var stream = new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.None))
            header = SafeTensorsHeader.Read(stream, full);

        if (header.DataLength == 0)
            return new SafeTensorsReader(full, null, null, null, header);
        var map = MemoryMappedFile.CreateFromFile(full, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        try
        {
            var view = map.CreateViewAccessor(0, header.DataStart + header.DataLength, MemoryMappedFileAccess.Read);
            byte* pointer = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
            return new SafeTensorsReader(full, map, view, pointer + view.PointerOffset, header);
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
    public SafeTensorsTensorInfo? Find(string name) => _byName.GetValueOrDefault(name);

    /// <summary>The entry of a tensor.</summary>
    /// <exception cref="KeyNotFoundException">No tensor has that name.</exception>
    public SafeTensorsTensorInfo this[string name] =>
        _byName.TryGetValue(name, out var entry) ? entry : throw new KeyNotFoundException($"'{name}' is not in {FilePath}");

    /// <summary>The raw little-endian bytes of a tensor, valid until this reader is disposed.</summary>
    /// <exception cref="NotSupportedException">The tensor has more bytes than one span can address; use the ranged overload.</exception>
    public ReadOnlySpan<byte> GetBytes(SafeTensorsTensorInfo entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (entry.ByteLength > int.MaxValue)
            throw new NotSupportedException($"{entry.Name} has {entry.ByteLength} bytes, more than one span can address.");
        return GetBytes(entry, 0, (int)entry.ByteLength);
    }

    /// <summary>
    /// <paramref name="byteCount"/> raw bytes of a tensor from <paramref name="byteOffset"/> (relative to
    /// the tensor's first byte), valid until this reader is disposed; for tensors larger than one span.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The range is not inside the tensor.</exception>
    public ReadOnlySpan<byte> GetBytes(SafeTensorsTensorInfo entry, long byteOffset, int byteCount)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (!_byName.TryGetValue(entry.Name, out var own) || !ReferenceEquals(own, entry))
            throw new ArgumentException($"'{entry.Name}' is not an entry of {FilePath}.", nameof(entry));
        ArgumentOutOfRangeException.ThrowIfNegative(byteOffset);
        ArgumentOutOfRangeException.ThrowIfNegative(byteCount);
        if (byteOffset + byteCount > entry.ByteLength)
            throw new ArgumentOutOfRangeException(nameof(byteCount), $"bytes [{byteOffset}, {byteOffset + byteCount}) are not inside the {entry.ByteLength} bytes of '{entry.Name}'.");
        if (byteCount == 0) return ReadOnlySpan<byte>.Empty;
        ObjectDisposedException.ThrowIf(_pointer is null, this);
        return new ReadOnlySpan<byte>(_pointer + _dataStart + entry.Begin + byteOffset, byteCount);
    }

    /// <summary>A copy of an F32 tensor, flattened in row-major order.</summary>
    /// <exception cref="DataFormatException">The tensor is not stored as F32.</exception>
    public float[] ReadSingles(string name) => Read<float>(name, SafeTensorsElementType.F32);

    /// <summary>A copy of an F64 tensor, flattened in row-major order.</summary>
    /// <exception cref="DataFormatException">The tensor is not stored as F64.</exception>
    public double[] ReadDoubles(string name) => Read<double>(name, SafeTensorsElementType.F64);

    /// <summary>A copy of an I64 tensor, flattened in row-major order.</summary>
    /// <exception cref="DataFormatException">The tensor is not stored as I64.</exception>
    public long[] ReadInt64s(string name) => Read<long>(name, SafeTensorsElementType.I64);

    /// <summary>A copy of an I32 tensor, flattened in row-major order.</summary>
    /// <exception cref="DataFormatException">The tensor is not stored as I32.</exception>
    public int[] ReadInt32s(string name) => Read<int>(name, SafeTensorsElementType.I32);

    /// <summary>A copy of an I16 tensor, flattened in row-major order.</summary>
    /// <exception cref="DataFormatException">The tensor is not stored as I16.</exception>
    public short[] ReadInt16s(string name) => Read<short>(name, SafeTensorsElementType.I16);

    /// <summary>A copy of a U8, I8 or BOOL tensor's bytes, flattened in row-major order.</summary>
    /// <exception cref="DataFormatException">The tensor is not stored as one-byte elements.</exception>
    public byte[] ReadBytes(string name)
    {
        var entry = this[name];
        if (entry.ElementType is not (SafeTensorsElementType.U8 or SafeTensorsElementType.I8 or SafeTensorsElementType.Bool))
            throw new DataFormatException($"tensor '{name}' is {entry.ElementType.ToHeaderName()}, not U8, I8 or BOOL", FilePath);
        return GetBytes(entry).ToArray();
    }

    private T[] Read<T>(string name, SafeTensorsElementType expected) where T : unmanaged
    {
        var entry = this[name];
        if (entry.ElementType != expected)
            throw new DataFormatException($"tensor '{name}' is {entry.ElementType.ToHeaderName()}, not {expected.ToHeaderName()}", FilePath);
        // Unaligned reads are fine: MemoryMarshal.Cast over the mapping is only used to copy.
        var result = new T[entry.ElementCount];
        GetBytes(entry).CopyTo(MemoryMarshal.AsBytes(result.AsSpan()));
        return result;
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
}
