using System.CommandLine;
using System.Diagnostics;
using Microsoft.ML.Mask2Former.Training.Checkpoints;

namespace Mask2Former.Cli
{
    internal static partial class CommandHooks
    {
        static partial void AddConvert(RootCommand root, TextWriter stdout, TextWriter stderr) =>
            root.Subcommands.Add(Commands.ConvertCommand.Create(stdout, stderr));
    }
}

namespace Mask2Former.Cli.Commands
{
    /// <summary><c>m2f convert --model DIR --out DIR2</c>: a model folder (mmdetection <c>config.json</c> + <c>checkpoint.pth</c>, or ours) to ours, for fast loading.</summary>
    internal static class ConvertCommand
    {
        public static Command Create(TextWriter stdout, TextWriter stderr)
        {
            var model = new Option<DirectoryInfo>("--model")
            {
                Description = "Model folder: mmdetection config.json (its 'model' dict as JSON) + checkpoint.pth, or config.json + model.safetensors.",
                Required = true,
            };
            var output = new Option<DirectoryInfo>("--out") { Description = "Folder to write config.json (with the classes' categories) and model.safetensors to.", Required = true };
            var command = new Command("convert", "Convert a model folder (e.g. an mmdetection Mask2Former + ViT-Adapter checkpoint) to config.json + model.safetensors.")
            {
                model, output,
            };
            command.SetAction(parse => CliExit.Guard(stderr, () =>
            {
                var source = parse.GetValue(model)!;
                if (!source.Exists) throw new DirectoryNotFoundException($"model folder not found: '{source.FullName}'");
                var destination = parse.GetValue(output)!.FullName;
                var watch = Stopwatch.StartNew();
                var config = MmdetModelFolder.Convert(source.FullName, destination);
                stdout.WriteLine($"Wrote {destination}: config.json, model.safetensors ({config.Backbone.ModelType}, {config.NumLabels} classes, {config.NumQueries} queries).");
                stderr.WriteLine($"Converted in {watch.Elapsed.TotalSeconds:F2} s.");
                return CliExit.Ok;
            }));
            return command;
        }
    }
}
