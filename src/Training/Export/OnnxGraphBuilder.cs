using Google.Protobuf;
using Microsoft.ML.Mask2Former.Onnx;

namespace Microsoft.ML.Mask2Former.Training.Export;

/// <summary>
/// Builds one ONNX graph: nodes with generated unique names, initializers from TorchSharp tensors,
/// shared constants, and helpers for the shape arithmetic that keeps the graph valid at any
/// input size (values are the names of graph values).
/// </summary>
internal sealed class OnnxGraphBuilder
{
    private readonly GraphProto _graph = new() { Name = "mask2former" };
    private readonly Dictionary<string, string> _constants = new(StringComparer.Ordinal);
    private readonly HashSet<string> _initializers = new(StringComparer.Ordinal);
    private int _counter;

    public GraphProto Graph => _graph;

    public int NodeCount => _graph.Node.Count;

    /// <summary>Declares a float input with named (symbolic) or fixed dimensions.</summary>
    public string Input(string name, params object[] dims)
    {
        _graph.Input.Add(ValueInfo(name, TensorProto.Types.DataType.Float, dims));
        return name;
    }

    /// <summary>Declares a float output, renaming <paramref name="value"/> to <paramref name="name"/> through an Identity.</summary>
    public void Output(string name, string value, params object[] dims)
    {
        _graph.Node.Add(new NodeProto { OpType = "Identity", Name = "output_" + name, Input = { value }, Output = { name } });
        _graph.Output.Add(ValueInfo(name, TensorProto.Types.DataType.Float, dims));
    }

    private static ValueInfoProto ValueInfo(string name, TensorProto.Types.DataType type, object[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims)
        {
            shape.Dim.Add(d switch
            {
                string s => new TensorShapeProto.Types.Dimension { DimParam = s },
                int i => new TensorShapeProto.Types.Dimension { DimValue = i },
                long l => new TensorShapeProto.Types.Dimension { DimValue = l },
                _ => throw new ArgumentException($"dimension {d} must be a name or a number"),
            });
        }
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } } };
    }

    /// <summary>Adds a float initializer holding a copy of <paramref name="tensor"/> (once per name).</summary>
    public string Initializer(string name, Tensor tensor)
    {
        if (_initializers.Contains(name)) return name;
        using var scope = NewDisposeScope();
        var t = tensor.detach().to(ScalarType.Float32).cpu().contiguous();
        // One copy, straight from the tensor's storage (ViT-Adapter-L's weights are 1.4 GB).
        var proto = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float, RawData = ByteString.CopyFrom(t.bytes) };
        proto.Dims.AddRange(t.shape);
        _graph.Initializer.Add(proto);
        _initializers.Add(name);
        return name;
    }

    /// <summary>A float constant of the given shape (shared when identical).</summary>
    public string Floats(float[] values, params long[] dims)
    {
        var key = "f:" + string.Join(",", dims) + ":" + Convert.ToBase64String(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()));
        if (_constants.TryGetValue(key, out var existing)) return existing;
        var name = $"const_f{_counter++}";
        var proto = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float, RawData = ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan())) };
        proto.Dims.AddRange(dims);
        _graph.Initializer.Add(proto);
        _constants[key] = name;
        return name;
    }

    /// <summary>A float scalar constant.</summary>
    public string Scalar(float value) => Floats([value]);

    /// <summary>A 1-D int64 constant (shapes, axes, indices).</summary>
    public string Ints(params long[] values)
    {
        var key = "i:" + string.Join(",", values);
        if (_constants.TryGetValue(key, out var existing)) return existing;
        var name = $"const_i{_counter++}";
        var proto = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int64 };
        proto.Dims.Add(values.Length);
        proto.Int64Data.AddRange(values);
        _graph.Initializer.Add(proto);
        _constants[key] = name;
        return name;
    }

    /// <summary>An int64 scalar constant (0-D).</summary>
    public string IntScalar(long value)
    {
        var key = "s:" + value;
        if (_constants.TryGetValue(key, out var existing)) return existing;
        var name = $"const_s{_counter++}";
        var proto = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int64 };
        proto.Int64Data.Add(value);
        _graph.Initializer.Add(proto);
        _constants[key] = name;
        return name;
    }

    /// <summary>Adds a node with one output and returns the output's name.</summary>
    public string Op(string opType, IEnumerable<string> inputs, params AttributeProto[] attributes) => OpN(opType, inputs, 1, attributes)[0];

    /// <summary>Moves the node that produced <paramref name="output"/> into ONNX Runtime's contrib domain (<c>com.microsoft</c>).</summary>
    public void MarkContribDomain(string output)
    {
        var node = _graph.Node.Last(n => n.Output.Contains(output));
        node.Domain = ContribDomain;
        _usesContrib = true;
    }

    /// <summary>The domain of ONNX Runtime's contrib operators.</summary>
    public const string ContribDomain = "com.microsoft";

    private bool _usesContrib;

    /// <summary>Adds a node with <paramref name="outputs"/> outputs.</summary>
    public string[] OpN(string opType, IEnumerable<string> inputs, int outputs, params AttributeProto[] attributes)
    {
        var id = _counter++;
        var node = new NodeProto { OpType = opType, Name = $"{opType}_{id}" };
        node.Input.AddRange(inputs);
        var names = Enumerable.Range(0, outputs).Select(o => $"{opType.ToLowerInvariant()}_{id}_{o}").ToArray();
        node.Output.AddRange(names);
        node.Attribute.AddRange(attributes);
        _graph.Node.Add(node);
        return names;
    }

    public static AttributeProto Attr(string name, long value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto Attr(string name, float value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    public static AttributeProto Attr(string name, string value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8(value) };

    public static AttributeProto Attr(string name, long[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(values);
        return a;
    }

    // ---- Elementwise and tensor helpers ----

    public string Add(string a, string b) => Op("Add", [a, b]);
    public string Sub(string a, string b) => Op("Sub", [a, b]);
    public string Mul(string a, string b) => Op("Mul", [a, b]);
    public string Div(string a, string b) => Op("Div", [a, b]);
    public string Relu(string x) => Op("Relu", [x]);
    public string MatMul(string a, string b) => Op("MatMul", [a, b]);
    public string Transpose(string x, params long[] perm) => Op("Transpose", [x], Attr("perm", perm));
    public string Reshape(string x, string shape) => Op("Reshape", [x, shape]);
    public string Reshape(string x, params long[] shape) => Reshape(x, Ints(shape));
    public string Concat(long axis, params string[] parts) => Op("Concat", parts, Attr("axis", axis));
    public string Softmax(string x, long axis = -1) => Op("Softmax", [x], Attr("axis", axis));
    public string Unsqueeze(string x, params long[] axes) => Op("Unsqueeze", [x, Ints(axes)]);
    public string Cast(string x, TensorProto.Types.DataType to) => Op("Cast", [x], Attr("to", (long)to));

    /// <summary>The size of one axis as a 1-D int64 tensor of length 1.</summary>
    public string Dim(string x, long axis) => Op("Shape", [x], Attr("start", axis), Attr("end", axis + 1));

    /// <summary>Slices one or more axes: <c>x[starts:ends:steps]</c>; starts and ends are 1-D int64 value names.</summary>
    public string Slice(string x, string starts, string ends, long[] axes, long[]? steps = null) =>
        steps is null ? Op("Slice", [x, starts, ends, Ints(axes)]) : Op("Slice", [x, starts, ends, Ints(axes), Ints(steps)]);

    /// <summary><c>x · Wᵀ + b</c> with the weight stored transposed, as <c>nn.Linear</c>.</summary>
    public string Linear(string x, Tensor weight, Tensor? bias, string name)
    {
        using var scope = NewDisposeScope();
        var w = Initializer(name + ".weight_t", weight.t());
        var y = MatMul(x, w);
        return bias is null ? y : Add(y, Initializer(name + ".bias", bias));
    }

    /// <summary>
    /// <c>x · Wᵀ + b</c> for a 2-D <paramref name="x"/> [rows, in] as one Gemm: the bias is added
    /// inside the GEMM (ONNX Runtime fuses a following Relu too), where a MatMul over a rank-3
    /// tensor costs a separate pass over the output for its Add.
    /// </summary>
    public string Gemm(string x, Tensor weight, Tensor bias, string name)
    {
        using var scope = NewDisposeScope();
        return Op("Gemm", [x, Initializer(name + ".weight_t", weight.t()), Initializer(name + ".bias", bias)]);
    }

    /// <summary>Layer normalisation over the last axis.</summary>
    public string LayerNorm(string x, Tensor weight, Tensor bias, double eps, string name) =>
        Op("LayerNormalization", [x, Initializer(name + ".weight", weight), Initializer(name + ".bias", bias)], Attr("axis", -1L), Attr("epsilon", (float)eps));

    /// <summary>
    /// Group normalisation of [N, C, H, W] (opset 17 has no GroupNormalization): instance
    /// normalisation over [N, groups, C/groups·H·W], then the per-channel affine.
    /// </summary>
    public string GroupNorm(string x, int groups, Tensor weight, Tensor bias, double eps, string name)
    {
        var channels = weight.shape[0];
        var shape = Op("Shape", [x]);
        var grouped = Reshape(x, Ints(0, groups, -1));
        var normed = Op("InstanceNormalization", [grouped, Floats(Enumerable.Repeat(1f, groups).ToArray(), groups), Floats(new float[groups], groups)],
            Attr("epsilon", (float)eps));
        var back = Reshape(normed, shape);
        using var scope = NewDisposeScope();
        var w = Initializer(name + ".weight", weight.view(channels, 1, 1));
        var b = Initializer(name + ".bias", bias.view(channels, 1, 1));
        return Add(Mul(back, w), b);
    }

    /// <summary>2-D convolution with square kernel, stride and padding.</summary>
    public string Conv(string x, Tensor weight, Tensor? bias, long stride, long padding, string name)
    {
        var k = weight.shape[2];
        var inputs = new List<string> { x, Initializer(name + ".weight", weight) };
        if (bias is not null) inputs.Add(Initializer(name + ".bias", bias));
        return Op("Conv", inputs, Attr("kernel_shape", new[] { k, weight.shape[3] }), Attr("strides", new[] { stride, stride }),
            Attr("pads", new[] { padding, padding, padding, padding }));
    }

    /// <summary>GELU with the exact erf form (as <c>torch.nn.functional.gelu</c>'s default).</summary>
    public string Gelu(string x)
    {
        var erf = Op("Erf", [Div(x, Scalar((float)Math.Sqrt(2.0)))]);
        return Mul(Mul(x, Scalar(0.5f)), Add(erf, Scalar(1f)));
    }

    /// <summary>Bilinear resize (PyTorch <c>interpolate</c>, align_corners false) of [N, C, h, w] to the sizes in <paramref name="sizes"/> (1-D int64 [4]).</summary>
    public string ResizeBilinear(string x, string sizes) =>
        Op("Resize", [x, "", "", sizes], Attr("mode", "linear"), Attr("coordinate_transformation_mode", "pytorch_half_pixel"));

    /// <summary>Serialises the graph as a model.</summary>
    public ModelProto ToModel(long opset, IEnumerable<KeyValuePair<string, string>> metadata, string producerVersion)
    {
        var model = new ModelProto
        {
            IrVersion = 8,
            ProducerName = "Mask2Former.MLNet",
            ProducerVersion = producerVersion,
            Graph = _graph,
            DocString = "Mask2Former (masked-attention mask transformer) exported from TorchSharp by Mask2Former.MLNet.",
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
        if (_usesContrib) model.OpsetImport.Add(new OperatorSetIdProto { Domain = ContribDomain, Version = 1 });
        foreach (var (k, v) in metadata) model.MetadataProps.Add(new StringStringEntryProto { Key = k, Value = v });
        return model;
    }
}
