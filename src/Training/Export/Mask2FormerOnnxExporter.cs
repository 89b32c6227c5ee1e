using System.Text.Json;
using Google.Protobuf;
using Microsoft.ML.Mask2Former.Onnx;
using Microsoft.ML.Mask2Former.Scoring;
using Microsoft.ML.Mask2Former.Training.Modeling;

using Microsoft.ML.Mask2Former.Training.Modeling.VitAdapter;

namespace Microsoft.ML.Mask2Former.Training.Export;

/// <summary>
/// Writes a TorchSharp <see cref="Mask2FormerForUniversalSegmentation"/> as an ONNX model (opset
/// 17, and ONNX Runtime's <c>com.microsoft.MultiHeadAttention</c> for Swin's window attention; with
/// <see cref="OnnxQuantization.DynamicInt8"/> also its <c>DynamicQuantizeMatMul</c>) whose batch,
/// height and width are dynamic: every size-dependent value (patch and window
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
/// post-processing defaults (keys <c>m2f.*</c>). Each module's nodes are emitted by a part of
/// <see cref="OnnxEmitter"/> beside the module (<c>Modeling/*/…Emission.cs</c>); Export/ holds the
/// graph plumbing: the walk, the weight lookup, the inputs, outputs and metadata.
/// </remarks>
public static class Mask2FormerOnnxExporter
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
        var emitter = new OnnxEmitter(config, weights, options);
        var graph = emitter.Run();
        var metadata = Metadata(config, labels, options);
        var proto = graph.ToModel(Opset, metadata, typeof(Mask2FormerOnnxExporter).Assembly.GetName().Version?.ToString() ?? "0");
        var quantized = options.Quantization == OnnxQuantization.DynamicInt8 ? OnnxDynamicQuantizer.Quantize(proto) : 0;
        report = new OnnxExportReport(graph.NodeCount, graph.Graph.Initializer.Count, options.FixedHeight is null ? "dynamic" : $"{options.FixedHeight}x{options.FixedWidth}", "", 0)
        {
            QuantizedMatrixProducts = quantized,
        };
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
}
