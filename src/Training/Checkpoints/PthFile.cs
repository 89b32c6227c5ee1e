using System.IO.Compression;
using System.Text;

namespace Microsoft.ML.Mask2Former.Training.Checkpoints;

/// <summary>
/// A PyTorch <c>torch.save</c> file (the zip format of PyTorch ≥ 1.6: <c>&lt;name&gt;/data.pkl</c>,
/// one <c>&lt;name&gt;/data/&lt;key&gt;</c> entry of raw little-endian bytes per storage,
/// <c>&lt;name&gt;/version</c>, optionally <c>&lt;name&gt;/byteorder</c>) read without executing
/// anything.
/// </summary>
/// <remarks>
/// <para>
/// The pickle is interpreted by our own small reader that allows only tensor rebuilds, storage
/// types, plain containers (<c>dict</c>, <c>list</c>, <c>tuple</c>, <c>OrderedDict</c>) and
/// plain values; any other pickled global — <c>posix.system</c>, <c>builtins.eval</c>,
/// <c>numpy.core.multiarray._reconstruct</c> — stops the read with a
/// <see cref="DataFormatException"/> naming the global and the file, before it could be called.
/// We chose this over TorchSharp.PyBridge 1.4.4 because PyBridge's restricted Razorvine.Pickle
/// unpickler turns unknown globals into dictionaries instead of refusing them (a hostile file
/// would pass unnoticed), materialises every tensor of the file (an mmdetection checkpoint also
/// holds the optimizer state and EMA copies, three times the weights) and does not check
/// storage sizes against tensor views. Here nothing is read until asked for, so loading the
/// weights of a large checkpoint reads only those.
/// </para>
/// <para>
/// Everything is validated: a truncated or damaged archive, a missing storage entry, a storage
/// whose byte length disagrees with its declared element count, an unknown storage type, and —
/// when a tensor is read — a view (offset, sizes, strides) that reaches outside its storage.
/// Errors name the file and the tensor.
/// </para>
/// </remarks>
public sealed class PthFile : IDisposable
{
    // The pickle of a state dict is small (names and shapes); anything this large is not one.
    private const long MaxPickleBytes = 1L << 30;

    private readonly ZipArchive _archive;
    private readonly Dictionary<string, PthStorage> _storages = new(StringComparer.Ordinal);

    private PthFile(string path, ZipArchive archive)
    {
        FilePath = path;
        _archive = archive;
    }

    /// <summary>The file this was opened from.</summary>
    public string FilePath { get; }

    /// <summary>The object the file holds: a <see cref="PickleDict"/> for a state dict or a training checkpoint.</summary>
    public object? Root { get; private set; }

    /// <summary>The storages the pickle refers to, by key.</summary>
    public IReadOnlyDictionary<string, PthStorage> Storages => _storages;

    /// <summary>Opens and validates <paramref name="path"/> (the archive and the pickle; tensor views are checked when read).</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="DataFormatException">The file is not a valid, allowed <c>torch.save</c> zip archive; the message says what is wrong.</exception>
    public static PthFile Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var full = Path.GetFullPath(path);
        if (!File.Exists(full)) throw new FileNotFoundException($"PyTorch checkpoint not found: '{full}'", full);
        var stream = new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        try
        {
            Span<byte> magic = stackalloc byte[4];
            if (stream.ReadAtLeast(magic, 4, throwOnEndOfStream: false) < 4 || magic[0] != 'P' || magic[1] != 'K')
                throw new DataFormatException("not a zip archive: only the torch.save zip format (PyTorch 1.6 and later) is read; re-save a legacy file with torch.save(obj, path)", full);
            stream.Position = 0;
            ZipArchive archive;
            try
            {
                archive = new ZipArchive(stream, ZipArchiveMode.Read, leaveOpen: false);
            }
            catch (InvalidDataException e)
            {
                throw new DataFormatException($"the zip archive is damaged or truncated: {e.Message}", full, inner: e);
            }
            var file = new PthFile(full, archive);
            try
            {
                file.ReadPickle();
                return file;
            }
            catch
            {
                file.Dispose();
                throw;
            }
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    private void ReadPickle()
    {
        var pickles = _archive.Entries.Where(e => e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal) && e.FullName.Count(c => c == '/') == 1).ToList();
        if (pickles.Count != 1)
            throw new DataFormatException(pickles.Count == 0 ? "the archive has no <name>/data.pkl: not a torch.save file" : "the archive has several <name>/data.pkl entries", FilePath);
        var prefix = pickles[0].FullName[..^"data.pkl".Length];
        if (_archive.GetEntry(prefix + "version") is { } version)
        {
            var text = ReadText(version).Trim();
            if (!int.TryParse(text, out var v) || v < 1)
                throw new DataFormatException($"the archive's version record is '{text}', not a format version", FilePath);
        }
        if (_archive.GetEntry(prefix + "byteorder") is { } order && ReadText(order).Trim() != "little")
            throw new DataFormatException($"the tensors are stored {ReadText(order).Trim()}-endian; only little-endian archives are read", FilePath);
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("Reading PyTorch checkpoints needs a little-endian machine.");
        if (pickles[0].Length > MaxPickleBytes) throw new DataFormatException($"data.pkl is {pickles[0].Length} bytes, more than a checkpoint's pickle can be", FilePath);
        var bytes = ReadAll(pickles[0]);
        Root = PthUnpickler.Load(bytes, FilePath, pid => LoadStorage(pid, prefix));
    }

    /// <summary>A persistent id <c>('storage', type, key, location, numel)</c> → the checked storage.</summary>
    private PthStorage LoadStorage(PickleTuple pid, string prefix)
    {
        if (pid.Count != 5 || pid[0] is not "storage")
            throw new DataFormatException($"a persistent id is not ('storage', type, key, location, numel) but has {pid.Count} items", FilePath);
        if (pid[2] is not string key) throw new DataFormatException("a storage key is not a string", FilePath);
        if (pid[4] is not long count || count < 0) throw new DataFormatException($"storage '{key}' has no valid element count", FilePath);
        if (pid[1] is not PthUnpickler.Global { Name: var typeName } || !PthUnpickler.StorageTypes.TryGetValue(typeName, out var dtype))
            throw new DataFormatException($"storage '{key}' does not name a supported storage type (torch.FloatStorage, torch.LongStorage, ...)", FilePath);
        if (_storages.TryGetValue(key, out var known))
        {
            if (known.ElementType != dtype || known.ElementCount != count)
                throw new DataFormatException($"storage '{key}' is declared twice with different types or sizes ({known.TorchType}×{known.ElementCount}, {typeName}×{count})", FilePath);
            return known;
        }
        var entryName = prefix + "data/" + key;
        var entry = _archive.GetEntry(entryName) ?? throw new DataFormatException($"storage '{key}' is missing from the archive (no entry {entryName})", FilePath);
        var expected = count * dtype.ElementSize();
        if (entry.Length != expected)
            throw new DataFormatException($"storage '{key}' ({typeName}, {count} elements) should hold {expected} bytes but its entry has {entry.Length}", FilePath);
        var storage = new PthStorage(key, typeName, dtype, count, entryName);
        _storages[key] = storage;
        return storage;
    }

    /// <summary>Reads a tensor into a new contiguous CPU tensor of its stored dtype and shape.</summary>
    /// <param name="info">The tensor, from <see cref="Root"/>.</param>
    /// <param name="name">Its name (e.g. the state-dict key), for messages.</param>
    /// <exception cref="DataFormatException">The view reaches outside its storage, or the storage bytes cannot be read.</exception>
    public Tensor ReadTensor(PthTensorInfo info, string name)
    {
        ArgumentNullException.ThrowIfNull(info);
        if (info.Problem() is { } problem) throw new DataFormatException($"tensor '{name}' {problem}", FilePath);
        var shape = info.Shape.ToArray();
        var scalar = info.ElementType.ToScalarType();
        var count = info.ElementCount;
        var size = info.ElementType.ElementSize();
        if (count == 0) return empty(shape, scalar);
        var entry = _archive.GetEntry(info.Storage.EntryName)!;
        if (info.IsContiguous)
        {
            var tensor = empty(shape, scalar);
            try
            {
                CopyRange(entry, info.StorageOffset * size, tensor, name);
                return tensor;
            }
            catch
            {
                tensor.Dispose();
                throw;
            }
        }
        // A strided view: read the span it covers, then gather.
        var extent = 1 + info.Shape.Select((s, d) => (s - 1) * info.Stride[d]).Sum();
        using var scope = NewDisposeScope();
        var flat = empty(extent, scalar);
        CopyRange(entry, info.StorageOffset * size, flat, name);
        return flat.as_strided(shape, info.Stride.ToArray()).contiguous().MoveToOuterDisposeScope();
    }

    /// <summary>Copies <c>destination.NumberOfElements</c> elements starting at byte <paramref name="start"/> of a storage entry.</summary>
    private void CopyRange(ZipArchiveEntry entry, long start, Tensor destination, string name)
    {
        try
        {
            using var source = entry.Open();
            Skip(source, start);
            var flat = destination.view(-1);
            var size = destination.ElementSize;
            var chunk = SafeTensorsFile.ChunkBytes / (int)size;
            var buffer = new byte[Math.Min((long)chunk * size, destination.NumberOfElements * size)];
            for (long first = 0; first < destination.NumberOfElements; first += chunk)
            {
                var n = Math.Min(chunk, destination.NumberOfElements - first);
                var bytes = buffer.AsSpan(0, (int)(n * size));
                source.ReadExactly(bytes);
                using var slice = flat.narrow(0, first, n);
                bytes.CopyTo(slice.bytes);
            }
            flat.Dispose();
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or IOException)
        {
            throw new DataFormatException($"tensor '{name}': storage '{entry.FullName}' cannot be read: {e.Message}", FilePath, inner: e);
        }
    }

    private static void Skip(Stream source, long count)
    {
        if (count == 0) return;
        if (source.CanSeek)
        {
            source.Seek(count, SeekOrigin.Current);
            return;
        }
        var scratch = new byte[(int)Math.Min(count, 1 << 20)];
        while (count > 0)
        {
            var n = (int)Math.Min(count, scratch.Length);
            source.ReadExactly(scratch, 0, n);
            count -= n;
        }
    }

    private byte[] ReadAll(ZipArchiveEntry entry)
    {
        try
        {
            using var source = entry.Open();
            var bytes = new byte[entry.Length];
            source.ReadExactly(bytes);
            return bytes;
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or IOException)
        {
            throw new DataFormatException($"archive entry '{entry.FullName}' cannot be read: {e.Message}", FilePath, inner: e);
        }
    }

    private string ReadText(ZipArchiveEntry entry) =>
        entry.Length > 64 ? throw new DataFormatException($"archive entry '{entry.FullName}' is too long for a record", FilePath) : Encoding.UTF8.GetString(ReadAll(entry));

    /// <inheritdoc/>
    public void Dispose() => _archive.Dispose();
}
