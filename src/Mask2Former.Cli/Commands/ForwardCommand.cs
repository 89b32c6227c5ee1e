using System.CommandLine;
using System.Diagnostics;
using Microsoft.ML.Mask2Former.Training.Inference;

namespace Mask2Former.Cli.Commands;

/// <summary>
/// <c>m2f forward --model DIR --inputs F.safetensors --out OUT.safetensors</c>: runs the TorchSharp
/// network on every <c>&lt;prefix&gt;pixel_values</c> of F and writes <c>&lt;prefix&gt;class_queries_logits</c>
/// and <c>&lt;prefix&gt;masks_queries_logits</c> (for tools and interop checks; keep the interface as is).
/// </summary>
internal static class ForwardCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var model = new Option<DirectoryInfo>("--model") { Description = "Model folder: config.json + model.safetensors (Hugging Face Mask2FormerForUniversalSegmentation), or mmdetection config.json + checkpoint.pth.", Required = true };
        var inputs = new Option<FileInfo>("--inputs") { Description = "safetensors file; every tensor named <prefix>pixel_values [B,3,H,W] (normalised) is run.", Required = true };
        var output = new Option<FileInfo>("--out") { Description = "safetensors file to write <prefix>class_queries_logits and <prefix>masks_queries_logits to.", Required = true };
        var threads = new Option<int>("--threads") { Description = "CPU threads for TorchSharp (default: libtorch's choice)." };
        var command = new Command("forward", "Run a Mask2Former model (TorchSharp) on the pixel_values tensors of a safetensors file.")
        {
            model, inputs, output, threads,
        };
        command.SetAction(parse => CliExit.Guard(stderr, () =>
        {
            var n = parse.GetValue(threads);
            if (n < 0) throw new ArgumentException($"--threads must be positive, got {n}");
            if (n > 0) TorchSharp.torch.set_num_threads(n);
            var watch = Stopwatch.StartNew();
            var prefixes = ForwardRunner.Run(parse.GetValue(model)!.FullName, parse.GetValue(inputs)!.FullName, parse.GetValue(output)!.FullName);
            foreach (var prefix in prefixes) stdout.WriteLine($"{prefix}pixel_values -> {prefix}class_queries_logits, {prefix}masks_queries_logits");
            stderr.WriteLine($"Ran {prefixes.Count} input(s) in {watch.Elapsed.TotalSeconds:F2} s.");
            return CliExit.Ok;
        }));
        return command;
    }
}
