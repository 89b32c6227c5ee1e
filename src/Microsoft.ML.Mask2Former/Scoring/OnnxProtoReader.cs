using System.Text;

namespace Microsoft.ML.Mask2Former.Scoring;

/// <summary>
/// Reads what scoring needs from a serialized ONNX <c>ModelProto</c> — the graph's inputs and
/// outputs (name, element type, shape) and <c>metadata_props</c> — straight from the protobuf wire
/// format. Building an ONNX Runtime session only to read these costs as much as the session
/// <c>ApplyOnnxModel</c> builds anyway (seconds for a PyTorch export of thousands of nodes, most of
/// it in ONNX Runtime's allocation planner), so the estimator reads the bytes instead. Field numbers
/// are those of onnx.proto; unknown fields are skipped.
/// </summary>
internal static class OnnxProtoReader
{
    /// <summary>A graph input or output. <paramref name="ElementType"/> is onnx.proto's <c>TensorProto.DataType</c> (0: not a tensor).</summary>
    /// <param name="Name">The value's name.</param>
    /// <param name="ElementType">The element type code (1 float, 7 int64, 11 double, …), 0 when the value is not a tensor.</param>
    /// <param name="Dims">The shape; -1 where a dimension is symbolic or unknown.</param>
    /// <param name="Symbols">The symbolic name of each dimension, or null.</param>
    public sealed record ValueInfo(string Name, int ElementType, int[] Dims, string?[] Symbols);

    /// <summary>The graph's inputs (initializers excluded, as ONNX Runtime lists them), outputs and metadata.</summary>
    public sealed record ModelInfo(IReadOnlyList<ValueInfo> Inputs, IReadOnlyList<ValueInfo> Outputs, IReadOnlyDictionary<string, string> Metadata);

    /// <summary>Reads a serialized model.</summary>
    /// <exception cref="FormatException">The bytes are not a protobuf <c>ModelProto</c> with a graph.</exception>
    public static ModelInfo Read(ReadOnlySpan<byte> model)
    {
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        var reader = new Reader(model);
        ReadOnlySpan<byte> graph = default;
        var hasGraph = false;
        var hasIrVersion = false;
        while (reader.Next(out var field, out var wire))
        {
            if (field == 1 && wire == 0)
            {
                reader.Varint();
                hasIrVersion = true;
            }
            else if (field == 7 && wire == 2)
            {
                graph = reader.Bytes();
                hasGraph = true;
            }
            else if (field == 14 && wire == 2)
            {
                var (key, value) = StringPair(reader.Bytes());
                metadata[key] = value;
            }
            else reader.Skip(wire);
        }
        if (!hasIrVersion || !hasGraph) throw new FormatException("no ONNX ModelProto (ir_version and graph) in the bytes");

        var inputs = new List<ValueInfo>();
        var outputs = new List<ValueInfo>();
        var initializers = new HashSet<string>(StringComparer.Ordinal);
        reader = new Reader(graph);
        while (reader.Next(out var field, out var wire))
        {
            if (wire != 2)
            {
                reader.Skip(wire);
                continue;
            }
            var body = reader.Bytes();
            switch (field)
            {
                case 5: initializers.Add(TensorName(body)); break;
                case 15: initializers.Add(SparseTensorName(body)); break;
                case 11: inputs.Add(Value(body)); break;
                case 12: outputs.Add(Value(body)); break;
            }
        }
        inputs.RemoveAll(i => initializers.Contains(i.Name));
        return new ModelInfo(inputs, outputs, metadata);
    }

    private static (string Key, string Value) StringPair(ReadOnlySpan<byte> entry)
    {
        string key = "", value = "";
        var reader = new Reader(entry);
        while (reader.Next(out var field, out var wire))
        {
            if (field == 1 && wire == 2) key = reader.String();
            else if (field == 2 && wire == 2) value = reader.String();
            else reader.Skip(wire);
        }
        return (key, value);
    }

    private static string TensorName(ReadOnlySpan<byte> tensor)
    {
        var name = "";
        var reader = new Reader(tensor);
        while (reader.Next(out var field, out var wire))
        {
            if (field == 8 && wire == 2) name = reader.String();
            else reader.Skip(wire);
        }
        return name;
    }

    private static string SparseTensorName(ReadOnlySpan<byte> sparse)
    {
        var name = "";
        var reader = new Reader(sparse);
        while (reader.Next(out var field, out var wire))
        {
            if (field == 1 && wire == 2) name = TensorName(reader.Bytes());
            else reader.Skip(wire);
        }
        return name;
    }

    /// <summary>ValueInfoProto: name (1), type (2: TypeProto; tensor_type (1): elem_type (1), shape (2: dim (1): dim_value (1) | dim_param (2))).</summary>
    private static ValueInfo Value(ReadOnlySpan<byte> info)
    {
        var name = "";
        var elementType = 0;
        var dims = new List<int>();
        var symbols = new List<string?>();
        var reader = new Reader(info);
        while (reader.Next(out var field, out var wire))
        {
            if (field == 1 && wire == 2) name = reader.String();
            else if (field == 2 && wire == 2)
            {
                var type = new Reader(reader.Bytes());
                while (type.Next(out var typeField, out var typeWire))
                {
                    if (typeField != 1 || typeWire != 2)
                    {
                        type.Skip(typeWire);
                        continue;
                    }
                    var tensor = new Reader(type.Bytes());
                    while (tensor.Next(out var tensorField, out var tensorWire))
                    {
                        if (tensorField == 1 && tensorWire == 0) elementType = (int)tensor.Varint();
                        else if (tensorField == 2 && tensorWire == 2)
                        {
                            var shape = new Reader(tensor.Bytes());
                            while (shape.Next(out var shapeField, out var shapeWire))
                            {
                                if (shapeField != 1 || shapeWire != 2)
                                {
                                    shape.Skip(shapeWire);
                                    continue;
                                }
                                var (value, symbol) = Dimension(shape.Bytes());
                                dims.Add(value);
                                symbols.Add(symbol);
                            }
                        }
                        else tensor.Skip(tensorWire);
                    }
                }
            }
            else reader.Skip(wire);
        }
        return new ValueInfo(name, elementType, [.. dims], [.. symbols]);
    }

    private static (int Value, string? Symbol) Dimension(ReadOnlySpan<byte> dim)
    {
        long? value = null;
        string? symbol = null;
        var reader = new Reader(dim);
        while (reader.Next(out var field, out var wire))
        {
            if (field == 1 && wire == 0) value = (long)reader.Varint();
            else if (field == 2 && wire == 2) symbol = reader.String();
            else reader.Skip(wire);
        }
        return (value is > 0 and <= int.MaxValue ? (int)value.Value : -1, symbol);
    }

    /// <summary>A protobuf wire-format reader over one message's bytes.</summary>
    private ref struct Reader(ReadOnlySpan<byte> data)
    {
        private readonly ReadOnlySpan<byte> _data = data;
        private int _position;

        public bool Next(out int field, out int wire)
        {
            if (_position >= _data.Length)
            {
                field = wire = 0;
                return false;
            }
            var tag = Varint();
            field = (int)(tag >> 3);
            wire = (int)(tag & 7);
            if (field == 0) throw new FormatException($"field number 0 at byte {_position}");
            return true;
        }

        public ulong Varint()
        {
            ulong result = 0;
            for (var shift = 0; shift < 64; shift += 7)
            {
                if (_position >= _data.Length) throw new FormatException("truncated varint");
                var b = _data[_position++];
                result |= (ulong)(b & 0x7F) << shift;
                if (b < 0x80) return result;
            }
            throw new FormatException("varint longer than 10 bytes");
        }

        public ReadOnlySpan<byte> Bytes()
        {
            var length = Varint();
            if (length > (ulong)(_data.Length - _position))
                throw new FormatException($"a field of {length} bytes at byte {_position} runs past the end ({_data.Length - _position} left)");
            var slice = _data.Slice(_position, (int)length);
            _position += (int)length;
            return slice;
        }

        public string String() => Encoding.UTF8.GetString(Bytes());

        public void Skip(int wire)
        {
            switch (wire)
            {
                case 0: Varint(); break;
                case 1: Advance(8); break;
                case 2: Bytes(); break;
                case 5: Advance(4); break;
                default: throw new FormatException($"unsupported wire type {wire} at byte {_position}");
            }
        }

        private void Advance(int count)
        {
            if (count > _data.Length - _position) throw new FormatException("truncated fixed-size field");
            _position += count;
        }
    }
}
