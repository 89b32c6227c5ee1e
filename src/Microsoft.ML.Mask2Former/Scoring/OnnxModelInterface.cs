using Google.Protobuf;
using Microsoft.ML.Mask2Former.Onnx;

namespace Microsoft.ML.Mask2Former.Scoring;

/// <summary>
/// Reads what scoring needs from a serialized ONNX <c>ModelProto</c> — the graph's inputs and
/// outputs (name, element type, shape) and <c>metadata_props</c> — without materialising its
/// weights (<see cref="ModelInterfaceView"/>). Building an ONNX Runtime session only to read these
/// costs as much as the session <c>ApplyOnnxModel</c> builds anyway (seconds for a PyTorch export of
/// thousands of nodes, most of it in ONNX Runtime's allocation planner), so the estimator reads the bytes.
/// </summary>
internal static class OnnxModelInterface
{
    private static readonly MessageParser<ModelInterfaceView> Parser = ModelInterfaceView.Parser.WithDiscardUnknownFields(true);

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
        ModelInterfaceView view;
        try
        {
            view = Parser.ParseFrom(model);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new FormatException($"not a protobuf message ({e.Message})", e);
        }
        if (!view.HasIrVersion || view.Graph is null) throw new FormatException("no ONNX ModelProto (ir_version and graph) in the bytes");
        var initializers = view.Graph.Initializer.Select(t => t.Name)
            .Concat(view.Graph.SparseInitializer.Select(s => s.Values?.Name ?? ""))
            .ToHashSet(StringComparer.Ordinal);
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in view.MetadataProps) metadata[entry.Key] = entry.Value;
        return new ModelInfo(
            view.Graph.Input.Where(i => !initializers.Contains(i.Name)).Select(Value).ToList(),
            view.Graph.Output.Select(Value).ToList(),
            metadata);
    }

    private static ValueInfo Value(ValueInfoProto info)
    {
        var tensor = info.Type?.TensorType;
        var dims = tensor?.Shape?.Dim ?? [];
        return new ValueInfo(info.Name, tensor?.ElemType ?? 0,
            dims.Select(d => d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue && d.DimValue is > 0 and <= int.MaxValue ? (int)d.DimValue : -1).ToArray(),
            dims.Select(d => d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimParam ? d.DimParam : null).ToArray());
    }
}
