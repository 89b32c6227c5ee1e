using System.Runtime.InteropServices;
using Google.Protobuf;
using Microsoft.ML.Mask2Former.Onnx;

namespace Microsoft.ML.Mask2Former.Scoring;

/// <summary>
/// Writes small ONNX models (constants behind Identity nodes): the settings model of a scoring
/// pipeline, and the stand-in models of tests.
/// </summary>
internal sealed class OnnxProtoWriter
{
    internal const int Float = (int)TensorProto.Types.DataType.Float;
    internal const int Int64 = (int)TensorProto.Types.DataType.Int64;
    internal const int Double = (int)TensorProto.Types.DataType.Double;

    private readonly ModelProto _model = new()
    {
        IrVersion = 8,
        ProducerName = "Microsoft.ML.Mask2Former",
        Graph = new GraphProto(),
        OpsetImport = { new OperatorSetIdProto { Domain = "", Version = 17 } },
    };

    /// <summary>Declares a graph input (a negative dimension -n is the symbolic dimension "dn").</summary>
    public OnnxProtoWriter Input(string name, int elementType, params long[] dims)
    {
        _model.Graph.Input.Add(ValueInfo(name, elementType, dims));
        return this;
    }

    /// <summary>Adds a constant graph output: an initializer copied to the output by an Identity node.</summary>
    public OnnxProtoWriter ConstantOutput(string name, long[] dims, ReadOnlySpan<double> values) =>
        ConstantOutput(name, Double, dims, MemoryMarshal.AsBytes(values));

    /// <summary>Adds a constant float output.</summary>
    public OnnxProtoWriter ConstantOutput(string name, long[] dims, ReadOnlySpan<float> values) =>
        ConstantOutput(name, Float, dims, MemoryMarshal.AsBytes(values));

    private OnnxProtoWriter ConstantOutput(string name, int elementType, long[] dims, ReadOnlySpan<byte> littleEndian)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("ONNX raw_data is little-endian.");
        var constant = name + ".value";
        var tensor = new TensorProto { DataType = elementType, Name = constant, RawData = ByteString.CopyFrom(littleEndian) };
        tensor.Dims.AddRange(dims);
        _model.Graph.Initializer.Add(tensor);
        _model.Graph.Node.Add(new NodeProto { Input = { constant }, Output = { name }, Name = "identity_" + name, OpType = "Identity" });
        _model.Graph.Output.Add(ValueInfo(name, elementType, dims));
        return this;
    }

    /// <summary>Adds a graph output whose shape is declared but not produced (only for tests of bad models).</summary>
    public OnnxProtoWriter DeclareOutput(string name, int elementType, params long[] dims)
    {
        _model.Graph.Output.Add(ValueInfo(name, elementType, dims));
        return this;
    }

    /// <summary>Adds a metadata_props entry.</summary>
    public OnnxProtoWriter Metadata(string key, string value)
    {
        _model.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
        return this;
    }

    /// <summary>The serialized ModelProto (IR version 8, default-domain opset 17).</summary>
    public byte[] ToArray(string graphName = "m2f")
    {
        _model.Graph.Name = graphName;
        return _model.ToByteArray();
    }

    private static ValueInfoProto ValueInfo(string name, int elementType, long[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims)
            shape.Dim.Add(d >= 0 ? new TensorShapeProto.Types.Dimension { DimValue = d } : new TensorShapeProto.Types.Dimension { DimParam = "d" + (-d) });
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = elementType, Shape = shape } } };
    }
}
