using System.CommandLine;
using System.Diagnostics;
using Microsoft.ML.Mask2Former.Formats;
using Microsoft.ML.Mask2Former.Scoring;
using Microsoft.ML.Mask2Former.Training.Checkpoints;
using Microsoft.ML.Mask2Former.Training.Export;
using Microsoft.ML.Mask2Former.Training.Modeling;

namespace Mask2Former.Cli
{
    internal static partial class CommandHooks
    {
        static partial void AddExport(RootCommand root, TextWriter stdout, TextWriter stderr) =>
            root.Subcommands.Add(Commands.ExportCommand.Create(stdout, stderr));
    }
}

namespace Mask2Former.Cli.Commands
{
    /// <summary><c>m2f export --model DIR --out F.onnx [--opset 17] [--fixed HxW] [--labels F.json] [--quantize int8]</c>: TorchSharp network to ONNX.</summary>
    internal static class ExportCommand
    {
        public static Command Create(TextWriter stdout, TextWriter stderr)
        {
            var model = new Option<DirectoryInfo>("--model") { Description = "Model folder: config.json + model.safetensors (Hugging Face Mask2FormerForUniversalSegmentation names), or mmdetection config.json + checkpoint.pth.", Required = true };
            var output = new Option<FileInfo>("--out") { Description = "The ONNX file to write (atomically).", Required = true };
            var opset = new Option<int>("--opset") { Description = "ONNX opset (only 17 is written).", DefaultValueFactory = _ => Mask2FormerOnnxExporter.Opset };
            var fixedSize = new Option<string?>("--fixed") { Description = "Fix the input size, e.g. 384x384 (default: dynamic batch, height and width)." };
            var labels = new Option<FileInfo?>("--labels")
            {
                Description = "JSON {\"labels\": [{\"id\", \"name\", \"isthing\"}, ...], \"object_mask_threshold\"?, \"overlap_threshold\"?}; entry i describes logit i. Stored in the model's metadata. Default: the model folder's own categories (config.json, or labels.json beside it); given labels must agree with them.",
            };
            var quantize = new Option<string?>("--quantize")
            {
                Description = "Store the weights of the matrix products as int8 and quantise activations at run time: 'int8' (dynamic int8; smaller and faster on CPU, logits approximate). Default: float32.",
            };
            var command = new Command("export", "Export a Mask2Former (TorchSharp) to ONNX with dynamic image size, labels and post-processing defaults in its metadata.")
            {
                model, output, opset, fixedSize, labels, quantize,
            };
            command.SetAction(parse => CliExit.Guard(stderr, () =>
            {
                if (parse.GetValue(opset) != Mask2FormerOnnxExporter.Opset)
                    throw new ArgumentException($"--opset {parse.GetValue(opset)} is not supported; the exporter writes opset {Mask2FormerOnnxExporter.Opset}");
                var folder = parse.GetValue(model)!;
                if (!folder.Exists) throw new DirectoryNotFoundException($"model folder not found: '{folder.FullName}'");
                // An mmdetection folder's own normalisation and test_cfg post-processing go into the metadata.
                var options = MmdetModelFolder.IsMmdetFolder(folder.FullName)
                    ? OnnxExportOptions.FromMmdet(MmdetConfig.Load(Path.Combine(folder.FullName, MmdetModelFolder.ConfigFile)))
                    : new OnnxExportOptions();
                options.Quantization = ParseQuantization(parse.GetValue(quantize));
                if (parse.GetValue(fixedSize) is { } size)
                    (options.FixedHeight, options.FixedWidth) = CliArguments.ParseSize(size, "--fixed");
                var watch = Stopwatch.StartNew();
                using var network = Mask2FormerForUniversalSegmentation.FromPretrained(folder.FullName);
                if (parse.GetValue(labels) is { } labelFile) ReadLabels(labelFile.FullName, network.Config.NumLabels, options);
                var report = Mask2FormerOnnxExporter.Export(network, parse.GetValue(output)!.FullName, options);
                stdout.WriteLine($"Wrote {report.Path}: {report.Nodes} nodes, {report.Initializers} initializers, {report.Bytes / 1e6:F1} MB, input {report.InputSize}, opset {Mask2FormerOnnxExporter.Opset}{(report.QuantizedMatrixProducts > 0 ? $", dynamic int8 ({report.QuantizedMatrixProducts} matrix products)" : "")}{(report.ExternalDataPath is { } data ? $", weights in {data}" : "")}.");
                stderr.WriteLine($"Exported in {watch.Elapsed.TotalSeconds:F2} s.");
                return CliExit.Ok;
            }));
            return command;
        }

        /// <summary>The <c>--quantize</c> value: absent (float32) or <c>int8</c>; anything else is refused by name.</summary>
        internal static OnnxQuantization ParseQuantization(string? value) => value?.Trim().ToLowerInvariant() switch
        {
            null => OnnxQuantization.None,
            "int8" => OnnxQuantization.DynamicInt8,
            _ => throw new ArgumentException($"--quantize '{value}' is not supported: the one quantisation is 'int8' (dynamic int8 weights and activations); leave the option out for float32."),
        };

        /// <summary>Reads a label set (the format <c>m2f segment --labels</c> and <c>m2f train</c>'s labels.json use) into the export options.</summary>
        private static void ReadLabels(string path, int count, OnnxExportOptions options)
        {
            var labels = Mask2FormerLabelSet.Load(path, out var objectThreshold, out var overlapThreshold);
            if (labels.Count != count)
                throw new DataFormatException($"the label set has {labels.Count} entries but the model has {count} classes (entry i describes logit i)", path);
            options.Labels = labels;
            if (objectThreshold is { } o) options.ObjectMaskThreshold = o;
            if (overlapThreshold is { } v) options.OverlapThreshold = v;
        }
    }
}
