using Microsoft.ML.OnnxRuntime;

namespace Microsoft.ML.Mask2Former.Scoring;

/// <summary>
/// The parts of a Mask2Former ONNX model that scoring depends on: the <c>pixel_values</c> input,
/// the <c>class_queries_logits</c> / <c>masks_queries_logits</c> outputs and the <c>m2f.*</c>
/// metadata. Reading it validates the model and says what was expected and what was found.
/// </summary>
internal sealed class OnnxModelDescription
{
    public const string PixelValues = "pixel_values";
    public const string ClassLogits = "class_queries_logits";
    public const string MaskLogits = "masks_queries_logits";

    private OnnxModelDescription(string inputName, int[] inputDims, int[] classDims, int[] maskDims, IReadOnlyDictionary<string, string> metadata)
    {
        InputName = inputName;
        InputDims = inputDims;
        ClassDims = classDims;
        MaskDims = maskDims;
        Metadata = metadata;
    }

    public string InputName { get; }

    /// <summary>[N, 3, H, W]; -1 where the model leaves a dimension open.</summary>
    public int[] InputDims { get; }

    /// <summary>[N, Q, K+1]; -1 where open.</summary>
    public int[] ClassDims { get; }

    /// <summary>[N, Q, h, w]; -1 where open.</summary>
    public int[] MaskDims { get; }

    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The fixed input height and width, or null when either is open.</summary>
    public (int Height, int Width)? FixedInputSize => InputDims[2] > 0 && InputDims[3] > 0 ? (InputDims[2], InputDims[3]) : null;

    /// <summary>K, when the class output's last dimension is fixed.</summary>
    public int? NumClasses => ClassDims[2] > 1 ? ClassDims[2] - 1 : null;

    /// <summary>
    /// Reads and checks a serialized model without building an ONNX Runtime session (the pipeline's
    /// <c>ApplyOnnxModel</c> builds the one session that runs it; see <see cref="OnnxModelInterface"/>).
    /// </summary>
    public static OnnxModelDescription Read(byte[] model, string source)
    {
        OnnxModelInterface.ModelInfo info;
        try { info = OnnxModelInterface.Read(model); }
        catch (FormatException e) { throw new InvalidOperationException($"{source} is not a loadable ONNX model: {e.Message}.", e); }
        return Check(info.Inputs, info.Outputs, info.Metadata, source);
    }

    /// <summary>Reads and checks the model of a session that exists anyway (<see cref="Mask2FormerPredictor"/>).</summary>
    internal static OnnxModelDescription Describe(InferenceSession session, string source)
    {
        static OnnxModelInterface.ValueInfo Value(string name, NodeMetadata m) => new(name,
            m.OnnxValueType == OnnxValueType.ONNX_TYPE_TENSOR ? (int)m.ElementDataType : 0,
            m.Dimensions.Select(d => d > 0 ? d : -1).ToArray(),
            m.Dimensions.Select((_, i) => m.SymbolicDimensions?.ElementAtOrDefault(i) is { Length: > 0 } s ? s : null).ToArray());
        return Check(session.InputMetadata.Select(p => Value(p.Key, p.Value)).ToList(),
            session.OutputMetadata.Select(p => Value(p.Key, p.Value)).ToList(), session.ModelMetadata.CustomMetadataMap, source);
    }

    private const int FloatType = 1;

    private static OnnxModelDescription Check(IReadOnlyList<OnnxModelInterface.ValueInfo> inputs, IReadOnlyList<OnnxModelInterface.ValueInfo> outputs,
        IReadOnlyDictionary<string, string> metadata, string source)
    {
        string Found() =>
            "found inputs " + string.Join(", ", inputs.Select(Format)) + "; outputs " + string.Join(", ", outputs.Select(Format));

        const string expected = "expected input 'pixel_values' float32 [N, 3, H, W] and outputs 'class_queries_logits' float32 [N, Q, K+1] and 'masks_queries_logits' float32 [N, Q, H/4, W/4]";
        if (inputs.Count != 1)
            throw new InvalidOperationException($"{source} is not a Mask2Former model: {expected}; {Found()}.");
        var input = inputs[0];
        if (input.ElementType != FloatType || input.Dims.Length != 4 || input.Dims[1] is not (3 or -1))
            throw new InvalidOperationException($"{source} is not a Mask2Former model: {expected}; {Found()}.");
        var classes = outputs.FirstOrDefault(o => o.Name == ClassLogits);
        var masks = outputs.FirstOrDefault(o => o.Name == MaskLogits);
        if (classes is null || masks is null || classes.ElementType != FloatType || masks.ElementType != FloatType
            || classes.Dims.Length != 3 || masks.Dims.Length != 4)
            throw new InvalidOperationException($"{source} is not a Mask2Former model: {expected}; {Found()}.");
        if (input.Dims[0] > 1)
            throw new InvalidOperationException($"{source} has a fixed batch of {input.Dims[0]}; scoring feeds one image at a time (batch 1 or open): {Found()}.");
        return new OnnxModelDescription(input.Name, input.Dims, classes.Dims, masks.Dims,
            new Dictionary<string, string>(metadata, StringComparer.Ordinal));
    }

    private static string Format(OnnxModelInterface.ValueInfo v) =>
        $"'{v.Name}' {TypeName(v.ElementType)} [{string.Join(", ", v.Dims.Select((d, i) => d > 0 ? d.ToString(CultureInfo.InvariantCulture) : v.Symbols[i] ?? "?"))}]";

    /// <summary>onnx.proto's names of the element types (TensorProto.DataType), as numbers travel in both ONNX and ONNX Runtime.</summary>
    private static string TypeName(int elementType) => elementType switch
    {
        0 => "(not a tensor)",
        1 => "float32",
        2 => "uint8",
        3 => "int8",
        4 => "uint16",
        5 => "int16",
        6 => "int32",
        7 => "int64",
        8 => "string",
        9 => "bool",
        10 => "float16",
        11 => "float64",
        12 => "uint32",
        13 => "uint64",
        16 => "bfloat16",
        _ => "element type " + elementType.ToString(CultureInfo.InvariantCulture),
    };

    /// <summary>The model's labels from <c>m2f.labels</c>, or null.</summary>
    public IReadOnlyList<Mask2FormerLabel>? MetadataLabels(string source)
    {
        if (!Metadata.TryGetValue("m2f.labels", out var json)) return null;
        try { return Mask2FormerLabelSet.Parse(json, out _, out _); }
        catch (FormatException e) { throw new InvalidOperationException($"{source}: metadata 'm2f.labels' is not a label list: {e.Message}", e); }
    }

    /// <summary>A three-number metadata entry (<c>m2f.mean</c>, <c>m2f.std</c>), or null.</summary>
    public double[]? MetadataTriple(string key, string source)
    {
        if (!Metadata.TryGetValue(key, out var json)) return null;
        try
        {
            var values = JsonSerializer.Deserialize<double[]>(json);
            if (values is { Length: 3 }) return values;
        }
        catch (JsonException) { }
        throw new InvalidOperationException($"{source}: metadata '{key}' must be a JSON array of 3 numbers; found '{json}'.");
    }

    /// <summary>A number metadata entry, or null.</summary>
    public double? MetadataNumber(string key, string source)
    {
        if (!Metadata.TryGetValue(key, out var text)) return null;
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v)) return v;
        throw new InvalidOperationException($"{source}: metadata '{key}' must be a number; found '{text}'.");
    }

    /// <summary>The fixed input size that <c>m2f.input_size</c> declares, or null.</summary>
    public (int Height, int Width)? MetadataFixedSize()
    {
        if (!Metadata.TryGetValue("m2f.input_size", out var json)) return null;
        try
        {
            using var doc = JsonDocument.Parse(json);
            var r = doc.RootElement;
            if (r.TryGetProperty("mode", out var mode) && mode.GetString() == "fixed")
                return (r.GetProperty("height").GetInt32(), r.GetProperty("width").GetInt32());
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException) { }
        return null;
    }
}
