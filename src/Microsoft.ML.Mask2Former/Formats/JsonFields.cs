namespace Microsoft.ML.Mask2Former.Formats;

/// <summary>
/// Strict accessors over <see cref="JsonElement"/> that turn a missing or mistyped field into a
/// <see cref="DataFormatException"/> naming the file, the item and the field, instead of the bare
/// <see cref="InvalidOperationException"/> / <see cref="KeyNotFoundException"/> System.Text.Json throws.
/// </summary>
internal readonly struct JsonFields
{
    private readonly string _file;
    private readonly string _item;
    private readonly string? _imageId;
    private readonly long? _itemId;
    private readonly DataFormatItemKind _itemKind;
    // The item's place, "array[index]" or "array[index].inner[innerIndex]", is formatted only for
    // an error: readers make one of these per item of files with tens of thousands of items.
    private readonly int _index;
    private readonly string? _inner;
    private readonly int _innerIndex;

    public JsonFields(string file, string item, string? imageId = null, long? itemId = null, DataFormatItemKind itemKind = DataFormatItemKind.Segment)
        : this(file, item, -1, null, -1, imageId, itemId, itemKind)
    {
    }

    private JsonFields(string file, string item, int index, string? inner, int innerIndex, string? imageId, long? itemId, DataFormatItemKind itemKind)
    {
        _file = file;
        _item = item;
        _index = index;
        _inner = inner;
        _innerIndex = innerIndex;
        _imageId = imageId;
        _itemId = itemId;
        _itemKind = itemKind;
    }

    /// <summary>Fields of element <paramref name="index"/> of the top-level array <paramref name="array"/> ("results" for a bare array).</summary>
    public static JsonFields At(string file, string array, int index, string? imageId = null, long? itemId = null, DataFormatItemKind itemKind = DataFormatItemKind.Segment) =>
        new(file, array, index, null, -1, imageId, itemId, itemKind);

    /// <summary>The same item, now known to belong to image <paramref name="imageId"/> and to have id <paramref name="itemId"/>.</summary>
    public JsonFields Of(string imageId, long? itemId = null, DataFormatItemKind itemKind = DataFormatItemKind.Segment) =>
        new(_file, _item, _index, _inner, _innerIndex, imageId, itemId, itemKind);

    /// <summary>Fields of element <paramref name="index"/> of the array <paramref name="inner"/> inside this item.</summary>
    public JsonFields Within(string inner, int index, long? itemId = null) =>
        new(_file, _item, _index, inner, index, _imageId, itemId, _itemKind);

    private string Item =>
        _index < 0 ? _item
        : _inner is null ? $"{_item}[{_index}]"
        : $"{_item}[{_index}].{_inner}[{_innerIndex}]";

    public DataFormatException Error(string what) => new($"{Item}: {what}", _file, _imageId, _itemId, itemKind: _itemKind);

    public JsonElement Required(JsonElement obj, string name, JsonValueKind kind)
    {
        if (obj.ValueKind != JsonValueKind.Object) throw Error($"expected a JSON object, found {obj.ValueKind}");
        if (!obj.TryGetProperty(name, out var value)) throw Error($"missing field '{name}'");
        if (value.ValueKind != kind) throw Error($"field '{name}' must be {Describe(kind)}, found {Describe(value.ValueKind)}");
        return value;
    }

    public bool TryOptional(JsonElement obj, string name, JsonValueKind kind, out JsonElement value)
    {
        if (!obj.TryGetProperty(name, out value) || value.ValueKind == JsonValueKind.Null) return false;
        if (value.ValueKind != kind) throw Error($"field '{name}' must be {Describe(kind)}, found {Describe(value.ValueKind)}");
        return true;
    }

    public long Integer(JsonElement obj, string name) => AsInteger(Required(obj, name, JsonValueKind.Number), name);

    public long AsInteger(JsonElement value, string name)
    {
        if (value.ValueKind != JsonValueKind.Number) throw Error($"field '{name}' must be a number, found {Describe(value.ValueKind)}");
        if (value.TryGetInt64(out var l)) return l;
        // Python writes integral floats such as 12.0 for numpy values; accept those, refuse 12.5.
        if (value.TryGetDouble(out var d) && d == Math.Floor(d) && Math.Abs(d) < 9.007199254740992E15) return (long)d;
        throw Error($"field '{name}' must be an integer, found {value.GetRawText()}");
    }

    public int Int32(JsonElement obj, string name, long min = int.MinValue, long max = int.MaxValue)
    {
        var v = Integer(obj, name);
        if (v < min || v > max) throw Error($"field '{name}' = {v} is outside [{min}, {max}]");
        return (int)v;
    }

    public double Number(JsonElement value, string name)
    {
        if (value.ValueKind != JsonValueKind.Number) throw Error($"field '{name}' must be a number, found {Describe(value.ValueKind)}");
        var d = value.GetDouble();
        if (!double.IsFinite(d)) throw Error($"field '{name}' is not finite");
        return d;
    }

    public string String(JsonElement obj, string name) => Required(obj, name, JsonValueKind.String).GetString()!;

    /// <summary>
    /// A file name that readers join to one of the data set's folders: relative and never climbing
    /// out of it, so a hostile JSON cannot make a reader open (or a writer replace) a file elsewhere.
    /// </summary>
    public string RelativeFileName(JsonElement obj, string name)
    {
        var value = String(obj, name);
        var escapes = value.Length == 0 || value.Contains('\0') || Path.IsPathRooted(value) || value[0] is '/' or '\\'
            || (value.Length > 1 && value[1] == ':') || value.Split('/', '\\').Contains("..");
        if (escapes) throw Error($"field '{name}' = '{value}' must name a file inside the data set's folder (relative, without '..')");
        return value;
    }

    /// <summary>Reads an id that COCO writes as an integer and other tools as a string; integers are kept as their decimal text.</summary>
    public string Id(JsonElement obj, string name)
    {
        if (obj.ValueKind != JsonValueKind.Object) throw Error($"expected a JSON object, found {obj.ValueKind}");
        if (!obj.TryGetProperty(name, out var value)) throw Error($"missing field '{name}'");
        return value.ValueKind switch
        {
            JsonValueKind.Number => AsInteger(value, name).ToString(CultureInfo.InvariantCulture),
            JsonValueKind.String => value.GetString()!,
            _ => throw Error($"field '{name}' must be an integer or a string, found {Describe(value.ValueKind)}"),
        };
    }

    public bool Flag(JsonElement obj, string name)
    {
        if (!obj.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null) return false;
        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            JsonValueKind.Number => AsInteger(value, name) switch
            {
                0 => false,
                1 => true,
                var v => throw Error($"field '{name}' must be 0 or 1, found {v}"),
            },
            _ => throw Error($"field '{name}' must be 0 or 1, found {Describe(value.ValueKind)}"),
        };
    }

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => kind.ToString(),
    };

    /// <summary>Parses a whole JSON file, reporting syntax errors with file, line and byte position.</summary>
    public static JsonDocument ParseFile(string path)
    {
        InputFile.RequireRegular(path, "JSON file");
        // Read in one piece into an array of the file's size, which the document then parses in
        // place (parsing a stream grows and copies a buffer: twice the memory touched).
        var bytes = File.ReadAllBytes(path);
        try
        {
            return JsonDocument.Parse(bytes, new JsonDocumentOptions { MaxDepth = 256 });
        }
        catch (JsonException e)
        {
            throw new DataFormatException($"malformed JSON at line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}: {e.Message}", path, inner: e);
        }
    }
}
