using System.Text.Json;
using Google.Protobuf;
using Microsoft.ML.Mask2Former.Onnx;
using Microsoft.ML.Mask2Former.Scoring;
using Microsoft.ML.Mask2Former.Training.Modeling;
using static Microsoft.ML.Mask2Former.Training.Export.OnnxGraphBuilder;
using static TorchSharp.torch;
using DataType = Microsoft.ML.Mask2Former.Onnx.TensorProto.Types.DataType;

namespace Microsoft.ML.Mask2Former.Training.Export;

/// <summary>
/// Writes a TorchSharp <see cref="Mask2FormerForUniversalSegmentation"/> as an ONNX model (opset
/// 17) whose batch, height and width are dynamic: every size-dependent value (patch and window
/// padding, shifted-window masks, window counts, deformable-attention level sizes and reference
/// points, sine position embeddings, mask resizing) is computed inside the graph.
/// </summary>
/// <remarks>
/// The graph is built from the network's configuration and its weights by their Hugging Face
/// names (the same contract the checkpoints use), module by module, in the layouts that suit
/// ONNX Runtime (Swin in [N, H, W, C], the decoder batch-first). Input <c>pixel_values</c>
/// [N, 3, H, W] (normalised); outputs <c>class_queries_logits</c> [N, Q, K+1] and
/// <c>masks_queries_logits</c> [N, Q, ⌈H/4⌉, ⌈W/4⌉], as the Hugging Face export names them. The
/// model's metadata_props carry the label names, thing flags, normalisation, input-size rule and
/// post-processing defaults (keys <c>m2f.*</c>).
/// </remarks>
public static partial class Mask2FormerOnnxExporter
{
    /// <summary>The opset written.</summary>
    public const int Opset = 17;

    /// <summary>Exports to a file, atomically.</summary>
    public static OnnxExportReport Export(Mask2FormerForUniversalSegmentation model, string path, OnnxExportOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        options ??= new OnnxExportOptions();
        var proto = Build(model, options, out var report);
        var external = OnnxExternalData.InitializerBytes(proto) > options.ExternalDataThreshold;
        string? dataPath = null;
        if (external)
        {
            // The weights first, so that a model file never names data that is not there yet.
            dataPath = path + ".data";
            Formats.AtomicFile.Write(dataPath, stream => OnnxExternalData.Move(proto, stream, Path.GetFileName(dataPath)));
        }
        Formats.AtomicFile.Write(path, stream => proto.WriteTo(stream));
        return report with
        {
            Path = Path.GetFullPath(path),
            Bytes = new FileInfo(path).Length + (dataPath is null ? 0 : new FileInfo(dataPath).Length),
            ExternalDataPath = dataPath is null ? null : Path.GetFullPath(dataPath),
        };
    }

    /// <summary>Exports to bytes (for embedding or in-memory sessions).</summary>
    /// <exception cref="InvalidOperationException">The model's weights exceed protobuf's 2 GiB limit: export to a file (with external data) instead.</exception>
    public static byte[] ExportToBytes(Mask2FormerForUniversalSegmentation model, OnnxExportOptions? options = null)
    {
        var proto = Build(model, options ?? new OnnxExportOptions(), out _);
        var bytes = OnnxExternalData.InitializerBytes(proto);
        if (bytes >= OnnxExternalData.ProtobufLimit)
            throw new InvalidOperationException($"the model's weights take {bytes / (1024.0 * 1024 * 1024):F2} GiB, more than one protobuf message can hold (2 GiB): export to a file, which writes them as ONNX external data beside it.");
        return proto.ToByteArray();
    }

    internal static ModelProto Build(Mask2FormerForUniversalSegmentation model, OnnxExportOptions options, out OnnxExportReport report)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        if (options.FixedHeight is < 1 || options.FixedWidth is < 1 || (options.FixedHeight is null) != (options.FixedWidth is null))
            throw new ArgumentException("FixedHeight and FixedWidth must both be set (positive) or both be null.", nameof(options));
        if (!Enum.IsDefined(options.Quantization))
            throw new ArgumentOutOfRangeException(nameof(options), options.Quantization,
                $"Quantization {(int)options.Quantization} is not supported: use {nameof(OnnxQuantization.None)} (float32) or {nameof(OnnxQuantization.DynamicInt8)}.");
        if (options.FilterLowScore is not null && options.PostProcessing != PostProcessingMode.MmDetection)
            throw new ArgumentException("FilterLowScore is an mmdetection setting: set PostProcessing to MmDetection with it.", nameof(options));
        var config = model.Config;
        if (config.Backbone is VitAdapterConfig && options.FixedHeight is { } fixedHeight
            && (fixedHeight % VitAdapterConfig.SizeDivisor != 0 || options.FixedWidth!.Value % VitAdapterConfig.SizeDivisor != 0))
            throw new ArgumentException($"a ViT-Adapter model needs an input size that is a multiple of {VitAdapterConfig.SizeDivisor}; found {fixedHeight}x{options.FixedWidth}.", nameof(options));
        var labels = Labels(config, options);

        var weights = Checkpoints.ModuleCheckpoint.StateDict(model);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var emitter = new Emitter(config, weights, options);
        var graph = emitter.Run();
        var metadata = Metadata(config, labels, options);
        var proto = graph.ToModel(Opset, metadata, typeof(Mask2FormerOnnxExporter).Assembly.GetName().Version?.ToString() ?? "0");
        if (options.Quantization == OnnxQuantization.DynamicInt8) OnnxDynamicQuantizer.Quantize(proto);
        report = new OnnxExportReport(graph.NodeCount, graph.Graph.Initializer.Count, options.FixedHeight is null ? "dynamic" : $"{options.FixedHeight}x{options.FixedWidth}", "", 0);
        return proto;
    }

    /// <summary>The label set of the metadata: the options' (checked against the model's categories), else the model's.</summary>
    private static IReadOnlyList<Mask2FormerLabel> Labels(Mask2FormerConfig config, OnnxExportOptions options)
    {
        if (options.Labels is not { } given) return config.CategoriesOrDefault();
        if (given.Count != config.NumLabels)
            throw new ArgumentException($"the label set has {given.Count} entries but the model has {config.NumLabels} classes (entry i describes logit i).", nameof(options));
        if (config.Categories is { } own)
        {
            for (var i = 0; i < given.Count; i++)
            {
                if (given[i].Id != own[i].Id || given[i].IsThing != own[i].IsThing)
                    throw new ArgumentException($"the label set disagrees with the model's own categories at class {i}: it says id {given[i].Id} ({(given[i].IsThing ? "thing" : "stuff")}), the model's config.json id {own[i].Id} '{own[i].Name}' ({(own[i].IsThing ? "thing" : "stuff")}). Leave the labels out to use the model's.", nameof(options));
            }
        }
        return given;
    }

    private static IEnumerable<KeyValuePair<string, string>> Metadata(Mask2FormerConfig config, IReadOnlyList<Mask2FormerLabel> labels, OnnxExportOptions options)
    {
        yield return new("m2f.labels", JsonSerializer.Serialize(labels.Select(l => new { id = l.Id, name = l.Name, isthing = l.IsThing ? 1 : 0 })));
        yield return new("m2f.mean", JsonSerializer.Serialize(options.Mean));
        yield return new("m2f.std", JsonSerializer.Serialize(options.Std));
        yield return new("m2f.input_size", options.FixedHeight is { } h
            ? JsonSerializer.Serialize(new { mode = "fixed", height = h, width = options.FixedWidth })
            : JsonSerializer.Serialize(new { mode = "dynamic", shortest_edge = 800, longest_edge = 1333, size_divisibility = 32 }));
        yield return new("m2f.object_mask_threshold", options.ObjectMaskThreshold.ToString(System.Globalization.CultureInfo.InvariantCulture));
        yield return new("m2f.overlap_threshold", options.OverlapThreshold.ToString(System.Globalization.CultureInfo.InvariantCulture));
        yield return new("m2f.num_queries", config.NumQueries.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (options.Quantization == OnnxQuantization.DynamicInt8) yield return new("m2f.quantization", "dynamic-int8");
        if (options.PostProcessing is { } mode)
            yield return new(PostProcessingModes.MetadataKey, mode == PostProcessingMode.MmDetection ? "mmdetection" : "detectron2");
        if (options.FilterLowScore is { } filter) yield return new(PostProcessingModes.FilterLowScoreKey, filter ? "true" : "false");
    }

    /// <summary>
    /// The levels a multi-scale deformable attention samples: each level's height and width (1-D
    /// int64 [1] values), their token counts concatenated (<see cref="Sizes"/>, for Split) and the
    /// (width, height) normaliser of the offsets [1, 1, 1, levels, 1, 2].
    /// </summary>
    private sealed record DeformableLevels(string[] Heights, string[] Widths, string Sizes, string Normalizer)
    {
        /// <summary>Emits the sizes and normaliser for levels of the given heights and widths.</summary>
        public static DeformableLevels Emit(OnnxGraphBuilder g, string[] heights, string[] widths)
        {
            var counts = heights.Select((h, i) => g.Op("Mul", [h, widths[i]])).ToArray();
            var wh = heights.SelectMany((h, i) => new[] { widths[i], h }).ToArray();
            var normalizer = g.Reshape(g.Cast(g.Concat(0, wh), DataType.Float), 1, 1, 1, heights.Length, 1, 2);
            return new DeformableLevels(heights, widths, g.Concat(0, counts), normalizer);
        }
    }

    /// <summary>Walks the network and emits its nodes.</summary>
    private sealed partial class Emitter(Mask2FormerConfig config, Dictionary<string, Tensor> weights, OnnxExportOptions options)
    {
        private readonly OnnxGraphBuilder _g = new();
        private readonly Dictionary<(int Level, int Features), string> _positions = new();
        private readonly Dictionary<(string Reference, string Normalizer, int Heads, int Points), (string Scale, string Offset)> _samplingFrames = new();
        private const string Backbone = "model.pixel_level_module.encoder";
        private const string PixelDecoder = "model.pixel_level_module.decoder";
        private const string Transformer = "model.transformer_module";

        private Tensor W(string name) =>
            weights.TryGetValue(name, out var t) ? t : throw new InvalidOperationException($"the network has no weight '{name}' (is the configuration consistent with the weights?)");

        private string Linear(string x, string prefix, bool bias = true) => _g.Linear(x, W(prefix + ".weight"), bias ? W(prefix + ".bias") : null, prefix);

        /// <summary><see cref="Linear"/> for 2-D rows, as one Gemm.</summary>
        private string Gemm(string rows, string prefix) => _g.Gemm(rows, W(prefix + ".weight"), W(prefix + ".bias"), prefix);

        private string LayerNorm(string x, string prefix, double eps = 1e-5) => _g.LayerNorm(x, W(prefix + ".weight"), W(prefix + ".bias"), eps, prefix);

        private string GroupNorm(string x, string prefix) => _g.GroupNorm(x, config.PixelDecoderNormGroups, W(prefix + ".weight"), W(prefix + ".bias"), 1e-5, prefix);

        private string Conv(string x, string prefix, long stride = 1, long padding = 0, bool bias = true) =>
            _g.Conv(x, W(prefix + ".weight"), bias ? W(prefix + ".bias") : null, stride, padding, prefix);

        public OnnxGraphBuilder Run()
        {
            object batch = "batch";
            object height = options.FixedHeight is { } fh ? fh : "height";
            object width = options.FixedWidth is { } fw ? fw : "width";
            var pixels = _g.Input("pixel_values", batch, 3, height, width);
            var features = config.Backbone switch
            {
                SwinConfig swin => Swin(pixels, swin),
                ResNetConfig resnet => ResNet(pixels, resnet),
                VitAdapterConfig vit => VitAdapter(pixels, vit),
                _ => throw new NotSupportedException($"backbone {config.Backbone.ModelType} cannot be exported"),
            };
            var (multiScale, maskFeatures) = PixelDecoderForward(features);
            var (classes, masks) = TransformerForward(multiScale, maskFeatures);
            _g.Output("class_queries_logits", classes, batch, config.NumQueries, config.NumLabels + 1);
            object maskH = options.FixedHeight is { } h ? (h + 3) / 4 : "mask_height";
            object maskW = options.FixedWidth is { } w ? (w + 3) / 4 : "mask_width";
            _g.Output("masks_queries_logits", masks, batch, config.NumQueries, maskH, maskW);
            return _g;
        }

        // ---------------- Swin ----------------

        private string[] Swin(string pixels, SwinConfig swin)
        {
            var p = swin.PatchSize;
            var padded = PadToMultiple(pixels, p, heightAxis: 2, widthAxis: 3, rank: 4);
            var embedded = Conv(padded, $"{Backbone}.embeddings.patch_embeddings.projection", stride: p);
            var x = LayerNorm(_g.Transpose(embedded, 0, 2, 3, 1), $"{Backbone}.embeddings.norm");
            var maps = new string[swin.Depths.Count];
            for (var s = 0; s < swin.Depths.Count; s++)
            {
                string? shiftMask = null;
                for (var b = 0; b < swin.Depths[s]; b++)
                {
                    var shifted = b % 2 == 1;
                    x = SwinBlock(x, swin, s, b, shifted, ref shiftMask);
                }
                var norm = LayerNorm(x, $"{Backbone}.hidden_states_norms.{swin.OutFeatures[s]}");
                maps[s] = _g.Transpose(norm, 0, 3, 1, 2);
                if (s < swin.Depths.Count - 1) x = PatchMerging(x, $"{Backbone}.encoder.layers.{s}.downsample");
            }
            return maps;
        }

        /// <summary>Pads [.., H, W, ..] at the bottom/right to multiples of <paramref name="multiple"/>.</summary>
        private string PadToMultiple(string x, long multiple, int heightAxis, int widthAxis, int rank)
        {
            var m = _g.Ints(multiple);
            string Amount(int axis) => _g.Op("Mod", [_g.Sub(m, _g.Op("Mod", [_g.Dim(x, axis), m])), m]);
            var pads = new string[2 * rank];
            var zero = _g.Ints(0);
            for (var i = 0; i < pads.Length; i++) pads[i] = zero;
            pads[rank + heightAxis] = Amount(heightAxis);
            pads[rank + widthAxis] = Amount(widthAxis);
            return _g.Op("Pad", [x, _g.Concat(0, pads)]);
        }

        private string SwinBlock(string x, SwinConfig swin, int stage, int block, bool shifted, ref string? shiftMask)
        {
            var prefix = $"{Backbone}.encoder.layers.{stage}.blocks.{block}";
            var window = swin.WindowSize;
            var shift = shifted ? window / 2 : 0;
            var dim = swin.StageDim(stage);
            var heads = swin.NumHeads[stage];
            var headDim = dim / heads;
            var n = window * window;

            var y = LayerNorm(x, prefix + ".layernorm_before", swin.LayerNormEps);
            var height = _g.Dim(y, 1);
            var width = _g.Dim(y, 2);
            y = PadToMultiple(y, window, 1, 2, 4);
            if (shift > 0) y = Roll(y, -shift);
            var w = _g.Ints(window);
            var rows = _g.Op("Div", [_g.Dim(y, 1), w]);
            var cols = _g.Op("Div", [_g.Dim(y, 2), w]);
            var paddedShape = _g.Concat(0, _g.Ints(-1), _g.Dim(y, 1), _g.Dim(y, 2), _g.Ints(dim));
            var windows = _g.Reshape(y, _g.Concat(0, _g.Ints(-1), rows, w, cols, w, _g.Ints(dim)));
            // Tokens as one [windows·n, C] matrix: ONNX Runtime runs a 2-D MatMul as one GEMM, but a
            // [windows, n, C] one as a GEMM per window (4x slower for Swin-T's stage 3).
            windows = _g.Reshape(_g.Transpose(windows, 0, 1, 3, 2, 4, 5), -1, dim);

            // Window attention with the relative position bias (a constant) and, when shifted, the region mask.
            var attention = prefix + ".attention.self";
            string Heads(string t) => _g.Reshape(t, -1, n, heads, headDim);
            string q;
            using (var scope = NewDisposeScope())
            {
                // The 1/√d of the scores folded into the query projection: one pass over the scores less.
                var scale = 1.0 / Math.Sqrt(headDim);
                q = _g.Linear(windows, W(attention + ".query.weight") * scale, swin.QkvBias ? W(attention + ".query.bias") * scale : null, attention + ".query_scaled");
            }
            q = _g.Transpose(Heads(q), 0, 2, 1, 3);
            var k = _g.Transpose(Heads(Linear(windows, attention + ".key", swin.QkvBias)), 0, 2, 3, 1);
            var v = _g.Transpose(Heads(Linear(windows, attention + ".value", swin.QkvBias)), 0, 2, 1, 3);
            var scores = _g.MatMul(q, k);
            using (var scope = NewDisposeScope())
            {
                var table = W(attention + ".relative_position_bias_table");
                var index = W(attention + ".relative_position_index");
                var bias = table.index_select(0, index.view(-1)).view(n, n, -1).permute(2, 0, 1).unsqueeze(0).contiguous();
                scores = _g.Add(scores, _g.Initializer(attention + ".relative_position_bias", bias));
            }
            if (shift > 0)
            {
                shiftMask ??= ShiftMask(_g.Dim(y, 1), _g.Dim(y, 2), rows, cols, window, shift);
                var windowCount = _g.Op("Mul", [rows, cols]);
                var perImage = _g.Reshape(scores, _g.Concat(0, _g.Ints(-1), windowCount, _g.Ints(heads, n, n)));
                scores = _g.Reshape(_g.Add(perImage, _g.Unsqueeze(shiftMask, 0, 2)), -1, heads, n, n);
            }
            var context = _g.MatMul(_g.Softmax(scores), v);
            context = _g.Reshape(_g.Transpose(context, 0, 2, 1, 3), -1, dim);
            var attended = Linear(context, prefix + ".attention.output.dense");

            // Windows back to the padded map, unshift, crop.
            var back = _g.Reshape(attended, _g.Concat(0, _g.Ints(-1), rows, cols, w, w, _g.Ints(dim)));
            back = _g.Reshape(_g.Transpose(back, 0, 1, 3, 2, 4, 5), paddedShape);
            if (shift > 0) back = Roll(back, shift);
            back = _g.Slice(back, _g.Ints(0, 0), _g.Concat(0, height, width), [1, 2]);

            var hidden = _g.Add(x, back);
            var mlp = Linear(_g.Gelu(Linear(LayerNorm(hidden, prefix + ".layernorm_after", swin.LayerNormEps), prefix + ".intermediate.dense")), prefix + ".output.dense");
            return _g.Add(hidden, mlp);
        }

        /// <summary><c>torch.roll</c> over axes 1 and 2 by <paramref name="shift"/> (negative: towards the start).</summary>
        private string Roll(string x, int shift)
        {
            foreach (var axis in new long[] { 1, 2 })
            {
                // roll(-s): x[s:] ++ x[:s]; roll(+s): x[-s:] ++ x[:-s].
                var cut = shift < 0 ? -shift : -(long)shift;
                var head = _g.Slice(x, _g.Ints(cut), _g.Ints(long.MaxValue), [axis]);
                var tail = _g.Slice(x, _g.Ints(0), _g.Ints(cut), [axis]);
                x = _g.Concat(axis, head, tail);
            }
            return x;
        }

        /// <summary>The shifted-window mask [windows, n, n] (0 or −10⁴) for a padded map of the given size, computed in the graph.</summary>
        private string ShiftMask(string paddedHeight, string paddedWidth, string rows, string cols, int window, int shift)
        {
            string Regions(string size)
            {
                var scalarSize = _g.Op("Squeeze", [size, _g.Ints(0)]);
                var index = _g.Op("Range", [_g.IntScalar(0), scalarSize, _g.IntScalar(1)]);
                var first = _g.Cast(_g.Op("GreaterOrEqual", [index, _g.Sub(size, _g.Ints(window))]), DataType.Float);
                var second = _g.Cast(_g.Op("GreaterOrEqual", [index, _g.Sub(size, _g.Ints(shift))]), DataType.Float);
                return _g.Add(first, second);
            }
            var ry = _g.Unsqueeze(Regions(paddedHeight), 1);
            var rx = _g.Unsqueeze(Regions(paddedWidth), 0);
            var map = _g.Add(_g.Mul(ry, _g.Scalar(3f)), rx);
            var w = _g.Ints(window);
            var windows = _g.Reshape(map, _g.Concat(0, rows, w, cols, w));
            windows = _g.Reshape(_g.Transpose(windows, 0, 2, 1, 3), -1, window * window);
            var difference = _g.Sub(_g.Unsqueeze(windows, 1), _g.Unsqueeze(windows, 2));
            var different = _g.Op("Not", [_g.Op("Equal", [difference, _g.Scalar(0f)])]);
            // The reference masks with −100, whose softmax weights (e^−100) are denormal floats: the
            // MatMuls that read them run 4–8× slower unless the session flushes denormals, which ML.NET's
            // ApplyOnnxModel cannot ask for. −10⁴ gives exact zeros instead (a difference below 10⁻⁴³).
            return _g.Op("Where", [different, _g.Scalar(-1e4f), _g.Scalar(0f)]);
        }

        private string PatchMerging(string x, string prefix)
        {
            var padded = PadToMultiple(x, 2, 1, 2, 4);
            var end = _g.Ints(long.MaxValue, long.MaxValue);
            string Part(long dy, long dx) => _g.Slice(padded, _g.Ints(dy, dx), end, [1, 2], [2, 2]);
            var merged = _g.Concat(-1, Part(0, 0), Part(1, 0), Part(0, 1), Part(1, 1));
            return Linear(LayerNorm(merged, prefix + ".norm"), prefix + ".reduction", bias: false);
        }

        // ---------------- ResNet ----------------

        private string[] ResNet(string pixels, ResNetConfig resnet)
        {
            var x = _g.Relu(FrozenBatchNorm(Conv(pixels, $"{Backbone}.conv1", stride: 2, padding: 3, bias: false), $"{Backbone}.bn1", resnet.BatchNormEps));
            x = _g.Op("MaxPool", [x], Attr("kernel_shape", new long[] { 3, 3 }), Attr("strides", new long[] { 2, 2 }), Attr("pads", new long[] { 1, 1, 1, 1 }));
            var maps = new string[4];
            for (var stage = 0; stage < 4; stage++)
            {
                for (var block = 0; block < resnet.Depths[stage]; block++)
                {
                    var prefix = $"{Backbone}.layer{stage + 1}.{block}";
                    var stride = block == 0 && stage > 0 ? 2 : 1;
                    var y = _g.Relu(FrozenBatchNorm(Conv(x, prefix + ".conv1", bias: false), prefix + ".bn1", resnet.BatchNormEps));
                    y = _g.Relu(FrozenBatchNorm(Conv(y, prefix + ".conv2", stride: stride, padding: 1, bias: false), prefix + ".bn2", resnet.BatchNormEps));
                    y = FrozenBatchNorm(Conv(y, prefix + ".conv3", bias: false), prefix + ".bn3", resnet.BatchNormEps);
                    var shortcut = weights.ContainsKey(prefix + ".downsample.0.weight")
                        ? FrozenBatchNorm(Conv(x, prefix + ".downsample.0", stride: stride, bias: false), prefix + ".downsample.1", resnet.BatchNormEps)
                        : x;
                    x = _g.Relu(_g.Add(y, shortcut));
                }
                maps[stage] = x;
            }
            return maps;
        }

        /// <summary>Frozen batch norm as the module computes it: x · scale + shift with scale = w / √(var + eps).</summary>
        private string FrozenBatchNorm(string x, string prefix, double eps)
        {
            using var scope = NewDisposeScope();
            var scale = W(prefix + ".weight") * (W(prefix + ".running_var") + eps).rsqrt();
            var shift = W(prefix + ".bias") - W(prefix + ".running_mean") * scale;
            var c = scale.shape[0];
            return _g.Add(_g.Mul(x, _g.Initializer(prefix + ".scale", scale.view(c, 1, 1))), _g.Initializer(prefix + ".shift", shift.view(c, 1, 1)));
        }

        // ---------------- Pixel decoder ----------------

        private (string[] MultiScale, string MaskFeatures) PixelDecoderForward(string[] features)
        {
            const int Levels = Mask2FormerConfig.FeatureLevels;
            var dim = config.FeatureSize;
            var embeds = new string[Levels];
            var positions = new string[Levels];
            var heights = new string[Levels];
            var widths = new string[Levels];
            using (var scope = NewDisposeScope())
            {
                var levelEmbed = W($"{PixelDecoder}.level_embed");
                for (var level = 0; level < Levels; level++)
                {
                    var x = features[features.Length - 1 - level];
                    var projected = GroupNorm(Conv(x, $"{PixelDecoder}.input_projections.{level}.0"), $"{PixelDecoder}.input_projections.{level}.1");
                    heights[level] = _g.Dim(projected, 2);
                    widths[level] = _g.Dim(projected, 3);
                    embeds[level] = _g.Transpose(_g.Reshape(projected, 0, dim, -1), 0, 2, 1);
                    var embed = _g.Initializer($"{PixelDecoder}.level_embed.{level}", levelEmbed[level].view(1, 1, -1));
                    positions[level] = _g.Add(Position(heights[level], widths[level], dim / 2, level), embed);
                }
            }
            var levels = DeformableLevels.Emit(_g, heights, widths);
            var tokens = _g.Concat(1, embeds);
            var batch = _g.Dim(tokens, 0);
            // The encoder works on [N·S, C] rows, so that every projection is one Gemm with its bias inside.
            var hidden = _g.Reshape(tokens, -1, dim);
            var position = _g.Reshape(_g.Op("Expand", [_g.Concat(1, positions), _g.Concat(0, batch, _g.Ints(1, 1))]), -1, dim);
            var reference = ReferencePoints(heights, widths);
            for (var layer = 0; layer < config.EncoderLayers; layer++)
                hidden = EncoderLayer(hidden, position, reference, levels, batch, $"{PixelDecoder}.encoder.layers.{layer}");

            var parts = _g.OpN("Split", [_g.Reshape(hidden, _g.Concat(0, batch, _g.Ints(-1, dim))), levels.Sizes], Levels, Attr("axis", 1L));
            var outputs = new string[Levels];
            for (var level = 0; level < Levels; level++)
                outputs[level] = _g.Reshape(_g.Transpose(parts[level], 0, 2, 1), _g.Concat(0, _g.Ints(0, dim), heights[level], widths[level]));

            var lateral = GroupNorm(Conv(features[0], $"{PixelDecoder}.adapter_1.0", bias: false), $"{PixelDecoder}.adapter_1.1");
            var upsampled = _g.ResizeBilinear(outputs[^1], _g.Op("Shape", [lateral]));
            var finest = _g.Relu(GroupNorm(Conv(_g.Add(lateral, upsampled), $"{PixelDecoder}.layer_1.0", padding: 1, bias: false), $"{PixelDecoder}.layer_1.1"));
            var maskFeatures = Conv(finest, $"{PixelDecoder}.mask_projection");
            return (outputs, maskFeatures);
        }

        /// <summary>Sine position embedding [1, h·w, 2·features] for a map of the given size (computed once per size and width).</summary>
        private string Position(string height, string width, int features, int level)
        {
            if (_positions.TryGetValue((level, features), out var cached)) return cached;
            float[] dimT;
            using (var scope = NewDisposeScope())
            {
                // The same float32 arithmetic as SinePositionEmbedding.
                var d = arange(features, dtype: ScalarType.Int64).to(ScalarType.Float32);
                dimT = full(new long[] { features }, 10000.0, dtype: ScalarType.Float32).pow(d.div(2, RoundingMode.floor).mul(2).div(features)).data<float>().ToArray();
            }
            var dimTensor = _g.Floats(dimT, features);
            var even = _g.Op("Equal", [_g.Op("Mod", [_g.Op("Range", [_g.IntScalar(0), _g.IntScalar(features), _g.IntScalar(1)]), _g.IntScalar(2)]), _g.IntScalar(0)]);
            string Encode(string size)
            {
                var scalar = _g.Op("Squeeze", [size, _g.Ints(0)]);
                var index = _g.Cast(_g.Op("Range", [_g.IntScalar(1), _g.Add(scalar, _g.IntScalar(1)), _g.IntScalar(1)]), DataType.Float);
                // embed / (size + 1e-6) · 2π, the divisor rounded from double as libtorch rounds a Python scalar.
                var divisor = _g.Cast(_g.Add(_g.Cast(size, DataType.Double), _g.Op("Constant", [], new AttributeProto
                {
                    Name = "value",
                    Type = AttributeProto.Types.AttributeType.Tensor,
                    T = new TensorProto { DataType = (int)DataType.Double, RawData = ByteString.CopyFrom(BitConverter.GetBytes(1e-6)) },
                })), DataType.Float);
                var embed = _g.Mul(_g.Div(index, divisor), _g.Scalar((float)(2 * Math.PI)));
                var p = _g.Div(_g.Unsqueeze(embed, 1), dimTensor);
                return _g.Op("Where", [even, _g.Op("Sin", [p]), _g.Op("Cos", [p])]);
            }
            var ey = _g.Unsqueeze(Encode(height), 1);   // [h, 1, F]
            var ex = _g.Unsqueeze(Encode(width), 0);    // [1, w, F]
            var grid = _g.Concat(0, height, width, _g.Ints(features));
            var both = _g.Concat(-1, _g.Op("Expand", [ey, grid]), _g.Op("Expand", [ex, grid]));
            var result = _g.Reshape(both, 1, -1, 2 * features);
            _positions[(level, features)] = result;
            return result;
        }

        /// <summary>Reference points [1, L, 1, 1, 1, 2]: pixel centres (x, y) normalised by each level's size.</summary>
        private string ReferencePoints(string[] heights, string[] widths)
        {
            var perLevel = new string[heights.Length];
            for (var level = 0; level < heights.Length; level++)
            {
                string Centres(string size)
                {
                    var scalar = _g.Op("Squeeze", [size, _g.Ints(0)]);
                    var index = _g.Cast(_g.Op("Range", [_g.IntScalar(0), scalar, _g.IntScalar(1)]), DataType.Float);
                    return _g.Div(_g.Add(index, _g.Scalar(0.5f)), _g.Cast(size, DataType.Float));
                }
                var grid = _g.Concat(0, heights[level], widths[level], _g.Ints(1));
                var y = _g.Op("Expand", [_g.Unsqueeze(Centres(heights[level]), 1, 2), grid]);
                var x = _g.Op("Expand", [_g.Unsqueeze(Centres(widths[level]), 0, 2), grid]);
                perLevel[level] = _g.Reshape(_g.Concat(-1, x, y), -1, 2);
            }
            return _g.Reshape(_g.Concat(0, perLevel), 1, -1, 1, 1, 1, 2);
        }

        /// <summary>One deformable encoder layer over [N·S, C] rows (post-norm, as the module).</summary>
        private string EncoderLayer(string hidden, string position, string reference, DeformableLevels levels, string batch, string prefix)
        {
            var dim = config.FeatureSize;
            var attended = MultiscaleDeformableAttention(_g.Add(hidden, position), hidden, batch, reference, levels, prefix + ".self_attn",
                config.NumAttentionHeads, Mask2FormerConfig.DeformablePoints, dim);
            hidden = LayerNorm(_g.Add(hidden, attended), prefix + ".self_attn_layer_norm");
            var ffn = Gemm(_g.Relu(Gemm(hidden, prefix + ".fc1")), prefix + ".fc2");
            return LayerNorm(_g.Add(hidden, ffn), prefix + ".final_layer_norm");
        }

        /// <summary>
        /// Multi-scale deformable attention, the module <see cref="Modeling.PixelDecoder.MultiscaleDeformableAttention"/>
        /// whose weights are under <paramref name="prefix"/> (<c>value_proj</c>, <c>sampling_offsets</c>,
        /// <c>attention_weights</c>, <c>output_proj</c>). <paramref name="queries"/> [N·Q, C] rows (position
        /// already added) sample <paramref name="values"/> [N·S, C] rows, the levels of
        /// <paramref name="levels"/> flattened one after another (any number of levels: 3 in the pixel
        /// decoder, 1 or 3 in ViT-Adapter's injector and extractor); <paramref name="batch"/> is N as a 1-D
        /// int64 [1]; <paramref name="reference"/> holds normalised (x, y) reference points broadcastable to
        /// [N, Q, heads, levels, points, 2] (one point per query: [1 or N, Q, 1, 1, 1, 2]; one per level:
        /// [N, Q, 1, levels, 1, 2]). <paramref name="valueDim"/> is value_proj's width (C, or ViT-Adapter's
        /// deform_ratio·C). Returns [N·Q, C] rows.
        /// </summary>
        /// <remarks>
        /// The offset and attention-weight projections read the same queries, so they run as one Gemm;
        /// sampling is one GridSample per level over [N·heads, d, h, w] (queries along the grid's width, so
        /// neighbouring queries read neighbouring places), weighted by the softmaxed attention.
        /// </remarks>
        private string MultiscaleDeformableAttention(string queries, string values, string batch, string reference, DeformableLevels levels,
            string prefix, int heads, int points, int valueDim)
        {
            var levelCount = levels.Heights.Length;
            var headDim = valueDim / heads;
            var value = _g.Reshape(Gemm(values, prefix + ".value_proj"), _g.Concat(0, batch, _g.Ints(-1, heads, headDim)));
            string projectedWeight, projectedBias;
            using (var scope = NewDisposeScope())
            {
                var name = prefix + ".sampling_offsets_attention_weights";
                projectedWeight = _g.Initializer(name + ".weight_t", cat([W(prefix + ".sampling_offsets.weight"), W(prefix + ".attention_weights.weight")], 0).t());
                projectedBias = _g.Initializer(name + ".bias", cat([W(prefix + ".sampling_offsets.bias"), W(prefix + ".attention_weights.bias")], 0));
            }
            // The projection yields the sampling grid directly: GridSample's coordinates are
            // 2·(reference + offset / (w, h)) − 1 = offset · 2/(w, h) + (2·reference − 1), so the offset
            // columns of the weights and bias are scaled by 2/(w, h) of their level and the (2·reference − 1)
            // rows enter as the Gemm's C. This spares four passes over [N, Q, heads, levels, points, 2]
            // tensors whose 6-D broadcasts ONNX Runtime runs slowly (≈20 ms each at 800×1216).
            var samples = heads * levelCount * points;
            var (scale, frame) = SamplingFrame(reference, levels, batch, heads, points);
            var gridAndLogits = _g.Op("Gemm", [queries, _g.Mul(projectedWeight, scale), _g.Add(frame, _g.Mul(projectedBias, scale))]);
            var split = _g.OpN("Split", [gridAndLogits, _g.Ints(2 * samples, samples)], 2, Attr("axis", 1L));
            var grids = _g.Reshape(split[0], _g.Concat(0, batch, _g.Ints(-1, heads, levelCount, points, 2)));
            var weightsNode = _g.Softmax(_g.Reshape(split[1], _g.Concat(0, batch, _g.Ints(-1, heads, levelCount * points))));
            var count = _g.Dim(grids, 1);
            var attention = _g.Reshape(_g.Transpose(_g.Reshape(weightsNode, _g.Concat(0, batch, _g.Ints(-1, heads, levelCount, points))), 0, 2, 3, 4, 1),
                _g.Concat(0, _g.Ints(-1, levelCount, points), count));
            var perLevel = levelCount == 1 ? [value] : _g.OpN("Split", [value, levels.Sizes], levelCount, Attr("axis", 1L));
            string? accumulated = null;
            for (var level = 0; level < levelCount; level++)
            {
                var levelValue = _g.Reshape(_g.Transpose(perLevel[level], 0, 2, 3, 1), _g.Concat(0, _g.Ints(-1, headDim), levels.Heights[level], levels.Widths[level]));
                var grid = _g.Op("Gather", [grids, _g.IntScalar(level)], Attr("axis", 3L));
                grid = _g.Reshape(_g.Transpose(grid, 0, 2, 3, 1, 4), _g.Concat(0, _g.Ints(-1, points), count, _g.Ints(2)));
                var sampled = _g.Op("GridSample", [levelValue, grid], Attr("mode", "bilinear"), Attr("padding_mode", "zeros"), Attr("align_corners", 0L));
                var levelAttention = _g.Unsqueeze(_g.Op("Gather", [attention, _g.IntScalar(level)], Attr("axis", 1L)), 1);
                var contribution = _g.Op("ReduceSum", [_g.Mul(sampled, levelAttention), _g.Ints(2)], Attr("keepdims", 0L));
                accumulated = accumulated is null ? contribution : _g.Add(accumulated, contribution);
            }
            var output = _g.Transpose(_g.Reshape(accumulated!, _g.Concat(0, _g.Ints(-1, valueDim), count)), 0, 2, 1);
            return Gemm(_g.Reshape(output, -1, valueDim), prefix + ".output_proj");
        }

        /// <summary>
        /// The per-column scale [3·samples] (2/w or 2/h of the column's level for offset columns, 1 for
        /// attention columns) and the per-row frame [N·Q, 3·samples] (2·reference − 1 for offset
        /// columns, 0 for attention columns) of <see cref="MultiscaleDeformableAttention"/>'s projection;
        /// emitted once per reference and level set and shared by every layer that uses them.
        /// </summary>
        private (string Scale, string Frame) SamplingFrame(string reference, DeformableLevels levels, string batch, int heads, int points)
        {
            var key = (reference, levels.Normalizer, heads, points);
            if (_samplingFrames.TryGetValue(key, out var cached)) return cached;
            var levelCount = levels.Heights.Length;
            var samples = heads * levelCount * points;
            var sampleShape = _g.Ints(1, 1, heads, levelCount, points, 2);
            var offsetScale = _g.Reshape(_g.Op("Expand", [_g.Div(_g.Scalar(2f), levels.Normalizer), sampleShape]), 2 * samples);
            var scale = _g.Concat(0, offsetScale, _g.Floats(Enumerable.Repeat(1f, samples).ToArray(), samples));
            var centred = _g.Sub(_g.Mul(reference, _g.Scalar(2f)), _g.Scalar(1f));
            var rows = _g.Reshape(_g.Op("Expand", [centred, _g.Concat(0, batch, _g.Ints(1, heads, levelCount, points, 2))]), -1, 2 * samples);
            var zeros = _g.Op("Expand", [_g.Floats([0f], 1, 1), _g.Concat(0, _g.Dim(rows, 0), _g.Ints(samples))]);
            var frame = _g.Concat(1, rows, zeros);
            return _samplingFrames[key] = (scale, frame);
        }

        // ---------------- Transformer decoder ----------------

        private (string Classes, string Masks) TransformerForward(string[] multiScale, string maskFeatures)
        {
            const int Levels = Mask2FormerConfig.FeatureLevels;
            var dim = config.HiddenDim;
            var memories = new string[Levels];
            var memoryPositions = new string[Levels];
            var sizes = new (string Height, string Width)[Levels];
            using (var scope = NewDisposeScope())
            {
                var levelEmbed = W($"{Transformer}.level_embed.weight");
                for (var i = 0; i < Levels; i++)
                {
                    var x = multiScale[i];
                    sizes[i] = (_g.Dim(x, 2), _g.Dim(x, 3));
                    memoryPositions[i] = Position(sizes[i].Height, sizes[i].Width, dim / 2, i);
                    var projected = weights.ContainsKey($"{Transformer}.input_projections.{i}.weight") ? Conv(x, $"{Transformer}.input_projections.{i}") : x;
                    var flat = _g.Add(_g.Reshape(projected, 0, dim, -1), _g.Initializer($"{Transformer}.level_embed.{i}", levelEmbed[i].view(1, -1, 1)));
                    memories[i] = _g.Transpose(flat, 0, 2, 1);
                }
            }
            var batch = _g.Dim(maskFeatures, 0);
            var queryPosition = _g.Unsqueeze(_g.Initializer($"{Transformer}.queries_embedder.weight", W($"{Transformer}.queries_embedder.weight")), 0);
            var queryFeatures = _g.Op("Expand", [_g.Unsqueeze(_g.Initializer($"{Transformer}.queries_features.weight", W($"{Transformer}.queries_features.weight")), 0),
                _g.Concat(0, batch, _g.Ints(config.NumQueries, dim))]);

            var decoder = $"{Transformer}.decoder";
            // Bilinear resizing mixes pixels with the same weights in every channel, so resizing the
            // mask features to a level's size and then taking the product with the mask embeddings
            // equals resizing the full-size mask logits: the intermediate layers' attention masks
            // need only [Q, h·w] products at their level's size, not [Q, H/4·W/4] ones.
            var levelFeatures = sizes.Select(size => _g.Reshape(
                _g.ResizeBilinear(maskFeatures, _g.Concat(0, batch, _g.Ints(config.MaskFeatureSize), size.Height, size.Width)), 0, config.MaskFeatureSize, -1)).ToArray();
            var normed = LayerNorm(queryFeatures, decoder + ".layernorm");
            var layers = config.TransformerDecoderLayers;
            var embedded = MaskEmbeddings(normed);
            var hidden = queryFeatures;
            for (var i = 0; i < layers; i++)
            {
                var level = i % Levels;
                hidden = DecoderLayer(hidden, queryPosition, memories[level], memoryPositions[level], AttentionMask(embedded, levelFeatures[level]), $"{decoder}.layers.{i}");
                normed = LayerNorm(hidden, decoder + ".layernorm");
                embedded = MaskEmbeddings(normed);
            }
            var fullSize = _g.Reshape(maskFeatures, 0, config.MaskFeatureSize, -1);
            var maskLogits = _g.Reshape(_g.MatMul(embedded, fullSize), _g.Concat(0, _g.Ints(0, 0), _g.Dim(maskFeatures, 2), _g.Dim(maskFeatures, 3)));
            var classes = Linear(normed, "class_predictor");
            return (classes, maskLogits);
        }

        /// <summary>The mask embedder's MLP over the normalised queries [N, Q, C] → [N, Q, mask features].</summary>
        private string MaskEmbeddings(string queries)
        {
            var prefix = $"{Transformer}.decoder.mask_predictor.mask_embedder";
            var e = _g.Relu(Linear(queries, prefix + ".0.0"));
            e = _g.Relu(Linear(e, prefix + ".1.0"));
            return Linear(e, prefix + ".2.0");
        }

        /// <summary>
        /// The masked attention's mask [N, 1, Q, h·w] (true = attend) from the mask embeddings and the
        /// mask features resized to the attended level [N, mask features, h·w].
        /// </summary>
        private string AttentionMask(string embedded, string levelFeatures)
        {
            var logits = _g.MatMul(embedded, levelFeatures);
            var open = _g.Op("Not", [_g.Op("Less", [_g.Op("Sigmoid", [logits]), _g.Scalar(0.5f)])]);
            // A query masked everywhere attends everywhere instead.
            var openCount = _g.Op("ReduceSum", [_g.Cast(open, DataType.Float), _g.Ints(-1)], Attr("keepdims", 1L));
            var full = _g.Op("Equal", [openCount, _g.Scalar(0f)]);
            return _g.Unsqueeze(_g.Op("Or", [open, full]), 1);
        }

        private string DecoderLayer(string hidden, string queryPosition, string memory, string memoryPosition, string attend, string prefix)
        {
            if (config.PreNorm)
            {
                var n = LayerNorm(hidden, prefix + ".cross_attn_layer_norm");
                hidden = _g.Add(hidden, CrossAttention(_g.Add(n, queryPosition), _g.Add(memory, memoryPosition), memory, attend, prefix + ".cross_attn"));
                n = LayerNorm(hidden, prefix + ".self_attn_layer_norm");
                hidden = _g.Add(hidden, SelfAttention(n, queryPosition, prefix + ".self_attn"));
                n = LayerNorm(hidden, prefix + ".final_layer_norm");
                return _g.Add(hidden, Linear(_g.Relu(Linear(n, prefix + ".fc1")), prefix + ".fc2"));
            }
            hidden = LayerNorm(_g.Add(hidden, CrossAttention(_g.Add(hidden, queryPosition), _g.Add(memory, memoryPosition), memory, attend, prefix + ".cross_attn")),
                prefix + ".cross_attn_layer_norm");
            hidden = LayerNorm(_g.Add(hidden, SelfAttention(hidden, queryPosition, prefix + ".self_attn")), prefix + ".self_attn_layer_norm");
            return LayerNorm(_g.Add(hidden, Linear(_g.Relu(Linear(hidden, prefix + ".fc1")), prefix + ".fc2")), prefix + ".final_layer_norm");
        }

        private string Attention(string q, string k, string v, string? attend)
        {
            var heads = config.NumAttentionHeads;
            var headDim = config.HiddenDim / heads;
            var qh = _g.Transpose(_g.Reshape(q, 0, 0, heads, headDim), 0, 2, 1, 3);
            var kh = _g.Transpose(_g.Reshape(k, 0, 0, heads, headDim), 0, 2, 3, 1);
            var vh = _g.Transpose(_g.Reshape(v, 0, 0, heads, headDim), 0, 2, 1, 3);
            var scores = _g.Mul(_g.MatMul(qh, kh), _g.Scalar((float)(1.0 / Math.Sqrt(headDim))));
            if (attend is not null) scores = _g.Op("Where", [attend, scores, _g.Scalar(float.NegativeInfinity)]);
            var context = _g.MatMul(_g.Softmax(scores), vh);
            return _g.Reshape(_g.Transpose(context, 0, 2, 1, 3), 0, 0, config.HiddenDim);
        }

        private string CrossAttention(string query, string key, string value, string attend, string prefix)
        {
            using var scope = NewDisposeScope();
            var w = W(prefix + ".in_proj_weight").chunk(3, 0);
            var b = W(prefix + ".in_proj_bias").chunk(3, 0);
            var q = _g.Linear(query, w[0], b[0], prefix + ".q");
            var k = _g.Linear(key, w[1], b[1], prefix + ".k");
            var v = _g.Linear(value, w[2], b[2], prefix + ".v");
            return Linear(Attention(q, k, v, attend), prefix + ".out_proj");
        }

        private string SelfAttention(string hidden, string position, string prefix)
        {
            var withPosition = _g.Add(hidden, position);
            var q = Linear(withPosition, prefix + ".q_proj");
            var k = Linear(withPosition, prefix + ".k_proj");
            var v = Linear(hidden, prefix + ".v_proj");
            return Linear(Attention(q, k, v, null), prefix + ".out_proj");
        }
    }
}
