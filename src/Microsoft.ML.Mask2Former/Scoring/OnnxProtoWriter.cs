using System.Buffers.Binary;
using System.Text;

namespace Microsoft.ML.Mask2Former.Scoring;

/// <summary>
/// Writes small ONNX models (constants behind Identity nodes) in protobuf wire format, so the
/// scoring library needs no protobuf dependency. Field numbers are those of onnx.proto.
/// </summary>
internal sealed class OnnxProtoWriter
{
    internal const int Float = 1;
    internal const int Int64 = 7;
    internal const int Double = 11;

    private readonly List<byte[]> _nodes = [];
    private readonly List<byte[]> _initializers = [];
    private readonly List<byte[]> _inputs = [];
    private readonly List<byte[]> _outputs = [];
    private readonly List<(string Key, string Value)> _metadata = [];

    /// <summary>Declares a graph input.</summary>
    public OnnxProtoWriter Input(string name, int elementType, params long[] dims)
    {
        _inputs.Add(ValueInfo(name, elementType, dims));
        return this;
    }

    /// <summary>Adds a constant graph output: an initializer copied to the output by an Identity node.</summary>
    public OnnxProtoWriter ConstantOutput(string name, long[] dims, ReadOnlySpan<double> values) =>
        ConstantOutput(name, Double, dims, Raw(values, Double));

    /// <summary>Adds a constant float output.</summary>
    public OnnxProtoWriter ConstantOutput(string name, long[] dims, ReadOnlySpan<float> values)
    {
        var raw = new byte[values.Length * 4];
        for (var i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(raw.AsSpan(i * 4), values[i]);
        return ConstantOutput(name, Float, dims, raw);
    }

    private OnnxProtoWriter ConstantOutput(string name, int elementType, long[] dims, byte[] raw)
    {
        var constant = name + ".value";
        var tensor = new Message();
        foreach (var d in dims) tensor.Varint(1, d);
        tensor.Varint(2, elementType);
        tensor.String(8, constant);
        tensor.Bytes(9, raw);
        _initializers.Add(tensor.ToArray());
        var node = new Message();
        node.String(1, constant);
        node.String(2, name);
        node.String(3, "identity_" + name);
        node.String(4, "Identity");
        _nodes.Add(node.ToArray());
        _outputs.Add(ValueInfo(name, elementType, dims));
        return this;
    }

    /// <summary>Adds a graph output whose shape is declared but not produced (only for tests of bad models).</summary>
    public OnnxProtoWriter DeclareOutput(string name, int elementType, params long[] dims)
    {
        _outputs.Add(ValueInfo(name, elementType, dims));
        return this;
    }

    /// <summary>Adds a metadata_props entry.</summary>
    public OnnxProtoWriter Metadata(string key, string value)
    {
        _metadata.Add((key, value));
        return this;
    }

    /// <summary>The serialized ModelProto (IR version 8, default-domain opset 17).</summary>
    public byte[] ToArray(string graphName = "m2f")
    {
        var graph = new Message();
        foreach (var n in _nodes) graph.Bytes(1, n);
        graph.String(2, graphName);
        foreach (var t in _initializers) graph.Bytes(5, t);
        foreach (var i in _inputs) graph.Bytes(11, i);
        foreach (var o in _outputs) graph.Bytes(12, o);

        var opset = new Message();
        opset.String(1, "");
        opset.Varint(2, 17);

        var model = new Message();
        model.Varint(1, 8);
        model.String(2, "Microsoft.ML.Mask2Former");
        model.Bytes(7, graph.ToArray());
        model.Bytes(8, opset.ToArray());
        foreach (var (k, v) in _metadata)
        {
            var entry = new Message();
            entry.String(1, k);
            entry.String(2, v);
            model.Bytes(14, entry.ToArray());
        }
        return model.ToArray();
    }

    private static byte[] ValueInfo(string name, int elementType, long[] dims)
    {
        var shape = new Message();
        foreach (var d in dims)
        {
            var dim = new Message();
            if (d >= 0) dim.Varint(1, d);
            else dim.String(2, "d" + (-d));
            shape.Bytes(1, dim.ToArray());
        }
        var tensorType = new Message();
        tensorType.Varint(1, elementType);
        tensorType.Bytes(2, shape.ToArray());
        var type = new Message();
        type.Bytes(1, tensorType.ToArray());
        var info = new Message();
        info.String(1, name);
        info.Bytes(2, type.ToArray());
        return info.ToArray();
    }

    private static byte[] Raw(ReadOnlySpan<double> values, int elementType)
    {
        var raw = new byte[values.Length * 8];
        for (var i = 0; i < values.Length; i++) BinaryPrimitives.WriteDoubleLittleEndian(raw.AsSpan(i * 8), values[i]);
        return raw;
    }

    private sealed class Message
    {
        private readonly MemoryStream _stream = new();

        public void Varint(int field, long value)
        {
            Tag(field, 0);
            WriteVarint((ulong)value);
        }

        public void String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

        public void Bytes(int field, byte[] value)
        {
            Tag(field, 2);
            WriteVarint((ulong)value.Length);
            _stream.Write(value);
        }

        public byte[] ToArray() => _stream.ToArray();

        private void Tag(int field, int wireType) => WriteVarint((ulong)(field << 3 | wireType));

        private void WriteVarint(ulong value)
        {
            while (value >= 0x80)
            {
                _stream.WriteByte((byte)(value | 0x80));
                value >>= 7;
            }
            _stream.WriteByte((byte)value);
        }
    }
}
