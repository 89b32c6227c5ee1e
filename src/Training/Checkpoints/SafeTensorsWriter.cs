using System.Globalization;
using System.Text;

namespace Microsoft.ML.Mask2Former.Training.Checkpoints;

/// <summary>
/// Writes safetensors files: tensors sorted by name (ordinal), stored back to back with no gaps,
/// the JSON header padded with spaces to a multiple of 8 bytes, as the reference implementation
/// does. Files are written atomically (temporary file + rename) and streamed tensor by tensor.
/// </summary>
public static class SafeTensorsWriter
{
    /// <summary>Writes <paramref name="tensors"/> to <paramref name="path"/> atomically.</summary>
    /// <param name="path">The file to create or replace.</param>
    /// <param name="tensors">Name → tensor; any device, any layout; dtypes F64/F32/F16/BF16/I64/I32/I16/I8/U8/BOOL.</param>
    /// <param name="metadata">Optional <c>__metadata__</c> strings.</param>
    /// <exception cref="ArgumentException">A name is repeated or empty, or a tensor is null.</exception>
    /// <exception cref="NotSupportedException">A tensor's dtype has no safetensors equivalent.</exception>
    public static void Save(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var list = Prepare(tensors);
        AtomicFile.Write(path, stream => WriteTo(stream, list, metadata));
    }

    /// <summary>Writes the safetensors bytes of <paramref name="tensors"/> to <paramref name="stream"/>.</summary>
    /// <exception cref="ArgumentException">A name is repeated or empty, or a tensor is null.</exception>
    public static void Write(Stream stream, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        WriteTo(stream, Prepare(tensors), metadata);
    }

    private static List<KeyValuePair<string, Tensor>> Prepare(IEnumerable<KeyValuePair<string, Tensor>> tensors)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var list = tensors.ToList();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, tensor) in list)
        {
            if (string.IsNullOrEmpty(name)) throw new ArgumentException("A tensor name is empty.", nameof(tensors));
            if (name == "__metadata__") throw new ArgumentException("'__metadata__' is reserved and cannot name a tensor.", nameof(tensors));
            if (!names.Add(name)) throw new ArgumentException($"The tensor name '{name}' is given twice.", nameof(tensors));
            if (tensor is null) throw new ArgumentException($"The tensor '{name}' is null.", nameof(tensors));
            _ = SafeTensorsTorchTypes.ToElementType(tensor.dtype);
        }
        list.Sort((a, b) => string.CompareOrdinal(a.Key, b.Key));
        return list;
    }

    private static void WriteTo(Stream stream, List<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        var header = BuildHeader(tensors, metadata);
        Span<byte> prefix = stackalloc byte[8];
        BitConverter.TryWriteBytes(prefix, (ulong)header.Length);
        stream.Write(prefix);
        stream.Write(header);
        foreach (var (name, tensor) in tensors)
        {
            using var scope = NewDisposeScope();
            var flat = tensor.detach().cpu().contiguous().view(-1);
            var elementSize = SafeTensorsTorchTypes.ToElementType(tensor.dtype).ElementSize();
            // Chunked, so tensors beyond what one span can address are written too.
            var chunk = SafeTensorsFile.ChunkBytes / elementSize;
            for (long first = 0; first < flat.numel(); first += chunk)
                stream.Write(flat.narrow(0, first, Math.Min(chunk, flat.numel() - first)).bytes);
        }
    }

    private static byte[] BuildHeader(List<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        var json = new StringBuilder("{");
        var first = true;
        if (metadata is { Count: > 0 })
        {
            json.Append("\"__metadata__\":{");
            var firstItem = true;
            foreach (var (key, value) in metadata.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                if (!firstItem) json.Append(',');
                firstItem = false;
                json.Append(Quote(key)).Append(':').Append(Quote(value));
            }
            json.Append('}');
            first = false;
        }
        long offset = 0;
        foreach (var (name, tensor) in tensors)
        {
            var dtype = SafeTensorsTorchTypes.ToElementType(tensor.dtype);
            var bytes = checked(tensor.numel() * dtype.ElementSize());
            if (!first) json.Append(',');
            first = false;
            json.Append(Quote(name)).Append(":{\"dtype\":\"").Append(dtype.ToHeaderName()).Append("\",\"shape\":[");
            json.AppendJoin(',', tensor.shape.Select(d => d.ToString(CultureInfo.InvariantCulture)));
            json.Append("],\"data_offsets\":[").Append(offset.ToString(CultureInfo.InvariantCulture)).Append(',');
            offset = checked(offset + bytes);
            json.Append(offset.ToString(CultureInfo.InvariantCulture)).Append("]}");
        }
        json.Append('}');
        var length = Encoding.UTF8.GetByteCount(json.ToString());
        json.Append(' ', (8 - length % 8) % 8);
        return Encoding.UTF8.GetBytes(json.ToString());
    }

    // Relaxed escaping keeps names readable (only quotes, backslashes and control characters are escaped).
    private static readonly System.Text.Json.JsonSerializerOptions QuoteOptions = new()
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    private static string Quote(string value) => System.Text.Json.JsonSerializer.Serialize(value, QuoteOptions);
}
