using System.CommandLine;
using System.Diagnostics;
using Microsoft.ML.Mask2Former.Evaluation;

namespace Mask2Former.Cli
{
    internal static partial class CommandHooks
    {
        static partial void AddEvalInstances(Command eval, TextWriter stdout, TextWriter stderr) =>
            eval.Subcommands.Add(Commands.EvalInstancesCommand.Create(stdout, stderr));
    }
}

namespace Mask2Former.Cli.Commands
{
    /// <summary><c>m2f eval instances</c>: COCO box or mask AP, identical to pycocotools' COCOeval.</summary>
    internal static class EvalInstancesCommand
    {
        public static Command Create(TextWriter stdout, TextWriter stderr)
        {
            var gt = new Option<FileInfo>("--gt") { Description = "COCO instance ground truth JSON (images, annotations, categories).", Required = true };
            var results = new Option<FileInfo>("--results") { Description = "COCO results JSON: an array of {image_id, category_id, score, bbox and/or segmentation}.", Required = true };
            var iouType = new Option<string>("--iou-type") { Description = "bbox (box AP) or segm (mask AP).", Required = true };
            iouType.AcceptOnlyFromAmong("bbox", "segm");
            var json = new Option<FileInfo?>("--json") { Description = "Also write {\"coco_bbox\"|\"coco_segm\": {stats, names, summary_text, per_class}} to this file." };
            var perClass = new Option<bool>("--per-class") { Description = "After the summary, print the per-category AP table (percent)." };
            var threads = new Option<int>("--threads")
            {
                Description = "Images matched in parallel (results do not depend on it).",
                DefaultValueFactory = _ => Environment.ProcessorCount,
            };

            var command = new Command("instances", "COCO instance AP/AR for boxes or masks (the 12 stats), identical to pycocotools' COCOeval.")
            {
                gt, results, iouType, json, perClass, threads,
            };
            command.SetAction(parse => CliExit.Guard(stderr, () =>
            {
                var n = parse.GetValue(threads);
                if (n < 1) throw new ArgumentException($"--threads must be at least 1, got {n}");
                var type = parse.GetValue(iouType) == "bbox" ? InstanceIouType.BoundingBox : InstanceIouType.Segmentation;
                var watch = Stopwatch.StartNew();
                var metrics = InstanceEvaluator.EvaluateFiles(parse.GetValue(gt)!.FullName, parse.GetValue(results)!.FullName, type,
                    new InstanceEvaluatorOptions { Threads = n });
                stdout.Write(metrics.ToString());
                if (parse.GetValue(perClass))
                {
                    stdout.Write('\n');
                    stdout.Write(metrics.PerClassTable());
                }
                stderr.WriteLine($"Evaluated {metrics.DetectionCount} detections on {metrics.ImageCount} images in {watch.Elapsed.TotalSeconds:F2} s.");
                if (parse.GetValue(json) is { } output)
                    JsonOutput.Write(output.FullName, w => metrics.WriteJson(w));
                return CliExit.Ok;
            }));
            return command;
        }
    }
}
