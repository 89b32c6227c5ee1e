using Google.Protobuf;
using Microsoft.ML.Mask2Former.Onnx;
using DataType = Microsoft.ML.Mask2Former.Onnx.TensorProto.Types.DataType;

namespace Microsoft.ML.Mask2Former.Training.Export;

/// <summary>
/// Dynamic int8 quantisation of an exported graph, in place: every MatMul and Gemm whose weight is
/// a constant 2-D matrix becomes ONNX Runtime's <c>com.microsoft.DynamicQuantizeMatMul</c>, with the
/// weight stored as int8, symmetric per output column (scale = max |w| / 127, zero point 0), and the
/// activations quantised to uint8 per tensor at run time (asymmetric, from their own min and max).
/// </summary>
/// <remarks>
/// Kept in float32: convolutions (the patch embedding, the pixel decoder's projections and its 3×3
/// layer), attention products (no constant weight), the deformable offset projection (its weight is
/// scaled in the graph by the level sizes, and sampling positions are where rounding hurts most),
/// and the last layers, whose outputs are the model's: the class predictor and the mask embedder
/// (<see cref="KeptInFloat"/>). Keeping the whole transformer decoder in float32 too left the
/// reference model's logit error unchanged (16.6 % against 16.3 % of the class logits' spread). One kernel serves the whole op: MLAS' u8s8 GEMM (VNNI on CPUs that
/// have it), dequantising into float with the bias added.
/// </remarks>
internal static class OnnxDynamicQuantizer
{
    /// <summary>The domain of ONNX Runtime's contrib operators.</summary>
    public const string MicrosoftDomain = "com.microsoft";

    /// <summary>Weight names (prefixes of their initializers) that stay float32: the layers that write the outputs.</summary>
    internal static readonly string[] KeptInFloat = ["class_predictor.", "model.transformer_module.decoder.mask_predictor."];

    /// <summary>Quantises <paramref name="model"/>'s eligible matrix products and returns how many it changed.</summary>
    public static int Quantize(ModelProto model)
    {
        var graph = model.Graph;
        var initializers = graph.Initializer.ToDictionary(t => t.Name);
        var uses = new Dictionary<string, int>();
        foreach (var input in graph.Node.SelectMany(n => n.Input)) uses[input] = uses.GetValueOrDefault(input) + 1;
        var consumers = new Dictionary<string, List<NodeProto>>();
        foreach (var node in graph.Node)
        {
            foreach (var input in node.Input)
            {
                if (!consumers.TryGetValue(input, out var list)) consumers[input] = list = [];
                list.Add(node);
            }
        }
        var quantized = new Dictionary<string, (string Weight, string Scale)>();
        var absorbed = new HashSet<NodeProto>();
        var count = 0;
        foreach (var node in graph.Node)
        {
            if (!Eligible(node, initializers, out var weight, out var bias)) continue;
            // A MatMul followed by the Add of its bias (Linear on a rank-3 or rank-4 input): the bias
            // goes into the quantised op, which adds it while dequantising, and the Add goes.
            if (bias is null && node.OpType == "MatMul" && consumers.GetValueOrDefault(node.Output[0]) is [{ OpType: "Add" } add]
                && add.Input.FirstOrDefault(i => i != node.Output[0]) is { } other
                && initializers.TryGetValue(other, out var b) && b.DataType == (int)DataType.Float && b.Dims.Count == 1 && b.Dims[0] == weight.Dims[1])
            {
                bias = other;
                node.Output[0] = add.Output[0];
                absorbed.Add(add);
            }
            if (!quantized.TryGetValue(weight.Name, out var q))
            {
                var (values, scales) = QuantizePerColumn(weight);
                q = (weight.Name + ".int8", weight.Name + ".scale");
                graph.Initializer.Add(values);
                graph.Initializer.Add(scales);
                values.Name = q.Weight;
                scales.Name = q.Scale;
                quantized[weight.Name] = q;
            }
            var a = node.Input[0];
            node.Input.Clear();
            node.Input.AddRange(bias is null ? [a, q.Weight, q.Scale] : [a, q.Weight, q.Scale, "", bias]);
            node.Attribute.Clear();
            node.OpType = "DynamicQuantizeMatMul";
            node.Domain = MicrosoftDomain;
            uses[weight.Name]--;
            count++;
        }
        foreach (var add in absorbed) graph.Node.Remove(add);
        foreach (var name in quantized.Keys.Where(n => uses.GetValueOrDefault(n) == 0).ToArray())
            graph.Initializer.Remove(initializers[name]);
        if (count > 0 && !model.OpsetImport.Any(o => o.Domain == MicrosoftDomain))
            model.OpsetImport.Add(new OperatorSetIdProto { Domain = MicrosoftDomain, Version = 1 });
        return count;
    }

    /// <summary>A MatMul by a constant [K, N] float matrix, or a plain Gemm (no transposes, α = β = 1) by one with a constant 1-D bias.</summary>
    private static bool Eligible(NodeProto node, Dictionary<string, TensorProto> initializers, out TensorProto weight, out string? bias)
    {
        weight = null!;
        bias = null;
        if (node.Domain.Length > 0 || node.OpType is not ("MatMul" or "Gemm") || node.Input.Count < 2) return false;
        if (!initializers.TryGetValue(node.Input[1], out var w) || w.DataType != (int)DataType.Float || w.Dims.Count != 2) return false;
        if (KeptInFloat.Any(p => w.Name.StartsWith(p, StringComparison.Ordinal))) return false;
        if (node.OpType == "Gemm")
        {
            foreach (var attribute in node.Attribute)
            {
                var plain = attribute.Name switch
                {
                    "transA" or "transB" => attribute.I == 0,
                    "alpha" or "beta" => attribute.F == 1f,
                    _ => false,
                };
                if (!plain) return false;
            }
            if (node.Input.Count > 2 && node.Input[2].Length > 0)
            {
                if (!initializers.TryGetValue(node.Input[2], out var c) || c.Dims.Count != 1 || c.Dims[0] != w.Dims[1]) return false;
                bias = c.Name;
            }
        }
        weight = w;
        return true;
    }

    /// <summary>Symmetric int8 per column of a [K, N] float matrix: the values and the N scales.</summary>
    internal static (TensorProto Values, TensorProto Scales) QuantizePerColumn(TensorProto weight)
    {
        var rows = (int)weight.Dims[0];
        var cols = (int)weight.Dims[1];
        var w = Floats(weight);
        var scales = new float[cols];
        for (var k = 0; k < rows; k++)
            for (var n = 0; n < cols; n++)
                scales[n] = Math.Max(scales[n], Math.Abs(w[k * cols + n]));
        for (var n = 0; n < cols; n++) scales[n] = scales[n] > 0 ? scales[n] / 127f : 1f;
        var q = new byte[rows * cols];
        for (var k = 0; k < rows; k++)
            for (var n = 0; n < cols; n++)
                q[k * cols + n] = unchecked((byte)(sbyte)Math.Clamp(MathF.Round(w[k * cols + n] / scales[n], MidpointRounding.ToEven), -127f, 127f));
        var values = new TensorProto { DataType = (int)DataType.Int8, RawData = ByteString.CopyFrom(q) };
        values.Dims.AddRange([rows, cols]);
        var scaleBytes = new byte[cols * sizeof(float)];
        Buffer.BlockCopy(scales, 0, scaleBytes, 0, scaleBytes.Length);
        var scaleProto = new TensorProto { DataType = (int)DataType.Float, RawData = ByteString.CopyFrom(scaleBytes) };
        scaleProto.Dims.Add(cols);
        return (values, scaleProto);
    }

    private static float[] Floats(TensorProto t)
    {
        if (t.FloatData.Count > 0) return t.FloatData.ToArray();
        var values = new float[t.RawData.Length / sizeof(float)];
        Buffer.BlockCopy(t.RawData.ToByteArray(), 0, values, 0, t.RawData.Length);
        return values;
    }
}
