namespace Microsoft.ML.Mask2Former.Formats;

/// <summary>
/// The validated header of a safetensors file: every check a hostile file needs, in one place,
/// shared by <see cref="SafeTensorsReader"/> and the TorchSharp checkpoint reader of the training library.
/// </summary>
internal sealed class SafeTensorsHeader
{
    private SafeTensorsHeader(long dataStart, long dataLength, List<SafeTensorsTensorInfo> entries, Dictionary<string, string> metadata)
    {
        DataStart = dataStart;
        DataLength = dataLength;
        Entries = entries;
        Metadata = metadata;
    }

    /// <summary>Offset of the data section from the start of the file.</summary>
    public long DataStart { get; }

    /// <summary>Size of the data section in bytes.</summary>
    public long DataLength { get; }

    /// <summary>Every tensor, ordered by name (ordinal).</summary>
    public IReadOnlyList<SafeTensorsTensorInfo> Entries { get; }

    /// <summary>The <c>__metadata__</c> map (empty when absent).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Reads and validates the header from the start of <paramref name="stream"/> (a whole file of known length).</summary>
    public static SafeTensorsHeader Read(Stream stream, string path)
    {
        var fileLength = stream.Length;
        if (fileLength < 8)
            throw new DataFormatException($"the file has {fileLength} bytes, too few for the 8-byte header length of a safetensors file", path);
        Span<byte> prefix = stackalloc byte[8];
        stream.ReadExactly(prefix);
        var headerLength = BitConverter.ToUInt64(prefix);
        if (headerLength > (ulong)(fileLength - 8))
            throw new DataFormatException($"the header length {headerLength} is larger than the {fileLength - 8} bytes that follow it: the file is truncated or not safetensors", path);
        if (headerLength > SafeTensorsReader.MaxHeaderBytes)
            throw new DataFormatException($"the header length {headerLength} exceeds the limit of {SafeTensorsReader.MaxHeaderBytes} bytes", path);
        if (headerLength < 2)
            throw new DataFormatException($"the header length {headerLength} is too small for a JSON object", path);
        var header = new byte[(int)headerLength];
        stream.ReadExactly(header);
        var dataStart = 8 + header.LongLength;
        var dataLength = fileLength - dataStart;
        var (entries, metadata) = Parse(header, dataLength, path);
        return new SafeTensorsHeader(dataStart, dataLength, entries, metadata);
    }

    private static (List<SafeTensorsTensorInfo>, Dictionary<string, string>) Parse(byte[] header, long dataLength, string path)
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
            var entries = new List<SafeTensorsTensorInfo>();
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
            CheckCoverage(entries, dataLength, path);
            entries.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
            return (entries, metadata);
        }
    }

    private static SafeTensorsTensorInfo ParseEntry(JsonProperty property, long dataLength, string path)
    {
        var name = property.Name;
        var info = property.Value;
        if (info.ValueKind != JsonValueKind.Object)
            throw new DataFormatException($"tensor '{name}': expected an object with dtype, shape and data_offsets, found a JSON {info.ValueKind}", path);
        if (!info.TryGetProperty("dtype", out var dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String)
            throw new DataFormatException($"tensor '{name}': missing or non-string 'dtype'", path);
        var dtypeName = dtypeElement.GetString();
        if (!SafeTensorsElementTypes.TryParse(dtypeName, out var dtype))
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
            throw new DataFormatException($"tensor '{name}': shape [{string.Join(", ", shape)}] of {dtype.ToHeaderName()} needs {(overflow ? "more than 2^63" : expected.ToString(CultureInfo.InvariantCulture))} bytes but data_offsets [{begin}, {end}] hold {end - begin}", path);
        return new SafeTensorsTensorInfo(name, dtype, shape, begin, end);
    }

    private static long ReadOffset(JsonElement element, string name, string path)
    {
        if (element.ValueKind != JsonValueKind.Number || !element.TryGetInt64(out var value) || value < 0)
            throw new DataFormatException($"tensor '{name}': data offset {element.GetRawText()} is not a non-negative 64-bit integer", path);
        return value;
    }

    /// <summary>
    /// The tensors must tile the data section exactly, as the reference implementation demands
    /// (its <c>InvalidOffset</c> / <c>MetadataIncompleteBuffer</c> errors): no overlap, no gap, no
    /// byte after the last tensor. A header length a few bytes off shifts every tensor onto its
    /// neighbour's bytes and leaves trailing bytes; refusing those reads no misaligned garbage.
    /// </summary>
    private static void CheckCoverage(List<SafeTensorsTensorInfo> entries, long dataLength, string path)
    {
        var byOffset = entries.OrderBy(e => e.Begin).ThenBy(e => e.End).ToList();
        long covered = 0;
        SafeTensorsTensorInfo? previous = null;
        foreach (var current in byOffset)
        {
            if (current.Begin < covered)
                throw new DataFormatException($"tensors '{previous!.Name}' [{previous.Begin}, {previous.End}) and '{current.Name}' [{current.Begin}, {current.End}) overlap", path);
            if (current.Begin > covered)
                throw new DataFormatException($"bytes [{covered}, {current.Begin}) of the data section belong to no tensor (a gap before '{current.Name}'): the offsets are wrong or the file was altered", path);
            covered = current.End;
            previous = current;
        }
        if (covered != dataLength)
            throw new DataFormatException($"the last {dataLength - covered} bytes of the data section (from offset {covered} of {dataLength}) belong to no tensor: the header length is wrong or bytes were appended", path);
    }
}
