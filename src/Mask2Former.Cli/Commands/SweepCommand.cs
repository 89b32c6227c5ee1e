using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Microsoft.ML.Mask2Former.Scoring;
using Microsoft.ML.Mask2Former.Tuning;

namespace Mask2Former.Cli
{
    internal static partial class CommandHooks
    {
        static partial void AddSweep(RootCommand root, TextWriter stdout, TextWriter stderr) =>
            root.Subcommands.Add(Commands.SweepCommand.Create(stdout, stderr));
    }
}

namespace Mask2Former.Cli.Commands
{
    /// <summary><c>m2f sweep thresholds</c>: tunes the panoptic post-processing thresholds of an ONNX model on cached logits.</summary>
    internal static class SweepCommand
    {
        public static Command Create(TextWriter stdout, TextWriter stderr)
        {
            var model = new Option<FileInfo>("--model") { Description = "Mask2Former ONNX model.", Required = true };
            var data = new Option<DirectoryInfo>("--data") { Description = "COCO panoptic validation folder: images/, panoptic.json, panoptic/.", Required = true };
            var output = new Option<DirectoryInfo>("--out") { Description = "Folder for the ranked table (panoptic-thresholds.md, panoptic-thresholds.csv) and the journal (journal.jsonl) that makes an interrupted sweep resumable.", Required = true };
            var inputSize = new Option<string?>("--input-size") { Description = "HxW for models without a fixed input size (default: the model's own, else shortest edge 800)." };
            var objectThresholds = new Option<string?>("--object-mask-thresholds") { Description = "Comma-separated values (default 0.3,0.4,...,0.9)." };
            var overlapThresholds = new Option<string?>("--overlap-thresholds") { Description = "Comma-separated values (default 0.5,0.6,...,0.9)." };
            var thresholds = new Command("thresholds", "Grid search of object_mask_threshold × overlap_threshold by PQ; the model runs once per image, every setting reuses its logits. Resumable: an interrupted sweep continues from its journal.")
            {
                model, data, output, inputSize, objectThresholds, overlapThresholds,
            };
            thresholds.SetAction(parse => CliExit.Guard(stderr, () =>
            {
                var options = new Mask2FormerPredictorOptions { ModelPath = parse.GetValue(model)!.FullName };
                if (!File.Exists(options.ModelPath)) throw new FileNotFoundException($"model not found: '{options.ModelPath}'", options.ModelPath);
                if (parse.GetValue(inputSize) is { } size)
                    (options.InputHeight, options.InputWidth) = CliArguments.ParseSize(size, "--input-size");
                var folder = parse.GetValue(data)!;
                if (!folder.Exists) throw new DirectoryNotFoundException($"data folder not found: '{folder.FullName}'");
                var space = new SweepSpace()
                    .Choice(PanopticThresholdSweep.ObjectMaskThreshold, Values(parse.GetValue(objectThresholds), "--object-mask-thresholds", [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]))
                    .Choice(PanopticThresholdSweep.OverlapThreshold, Values(parse.GetValue(overlapThresholds), "--overlap-thresholds", [0.5, 0.6, 0.7, 0.8, 0.9]));

                var watch = Stopwatch.StartNew();
                var sweep = PanopticThresholdSweep.Create(options, folder.FullName, new InlineProgress<int>(n => { if (n % 20 == 0) stderr.WriteLine($"cached logits of {n} images"); }));
                stderr.WriteLine($"Cached {sweep.ImageCount} images in {watch.Elapsed.TotalSeconds:F1} s; evaluating {space.GridSize} settings.");
                var outDir = parse.GetValue(output)!.FullName;
                Directory.CreateDirectory(outDir);
                var outcome = sweep.Run(space.Grid().ToArray(), new SweepRunnerOptions
                {
                    Name = "panoptic-thresholds",
                    JournalPath = Path.Combine(outDir, "journal.jsonl"),
                    Progress = new InlineProgress<SweepResult>(r => stderr.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {r.Settings.Key}: PQ {100 * r.Metric:F2}"))),
                });
                stdout.Write(outcome.ToMarkdown("PQ"));
                var (md, csv) = outcome.Save(outDir, "PQ");
                stdout.WriteLine();
                stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Best: {outcome.Best.Settings.Key} (PQ {100 * outcome.Best.Metric:F2}). Reports: {md}, {csv}"));
                return CliExit.Ok;
            }));
            return new Command("sweep", "Hyper-parameter sweeps.") { thresholds };
        }

        private static double[] Values(string? text, string option, double[] defaults)
        {
            if (text is null) return defaults;
            var values = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(v =>
                double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && d is >= 0 and <= 1
                    ? d
                    : throw new ArgumentException($"{option}: '{v}' is not a number in [0, 1]")).ToArray();
            return values.Length > 0 ? values : throw new ArgumentException($"{option} lists no values");
        }

        private sealed class InlineProgress<T>(Action<T> report) : IProgress<T>
        {
            public void Report(T value) => report(value);
        }
    }
}
