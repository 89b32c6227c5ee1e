using System.CommandLine;
using System.Diagnostics;
using Microsoft.ML.Mask2Former.Evaluation;
using Microsoft.ML.Mask2Former.Rendering;

namespace Mask2Former.Cli.Commands;

/// <summary><c>m2f eval panoptic</c>: PQ / SQ / RQ as panopticapi's <c>pq_compute</c>.</summary>
internal static class EvalPanopticCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var gtJson = new Option<FileInfo>("--gt-json") { Description = "Ground-truth COCO panoptic JSON.", Required = true };
        var gtFolder = new Option<DirectoryInfo>("--gt-folder") { Description = "Folder of ground-truth segment-map PNGs.", Required = true };
        var predJson = new Option<FileInfo>("--pred-json") { Description = "Prediction COCO panoptic JSON.", Required = true };
        var predFolder = new Option<DirectoryInfo>("--pred-folder") { Description = "Folder of prediction segment-map PNGs.", Required = true };
        var json = new Option<FileInfo?>("--json") { Description = "Also write the results as JSON (panoptic + panoptic_counts) to this file." };
        var threads = new Option<int>("--threads")
        {
            Description = "Images evaluated in parallel (results do not depend on it).",
            DefaultValueFactory = _ => Environment.ProcessorCount,
        };
        var perClass = new Option<bool>("--per-class") { Description = "Also print the per-class table." };
        var chart = new Option<FileInfo?>("--chart") { Description = "Also draw a per-class PQ bar chart to this PNG file." };

        var command = new Command("panoptic", "Panoptic quality (PQ, SQ, RQ; all, things, stuff, per class), identical to COCO panopticapi pq_compute.")
        {
            gtJson, gtFolder, predJson, predFolder, json, threads, perClass, chart,
        };
        command.SetAction(parse => CliExit.Guard(stderr, () =>
        {
            var n = parse.GetValue(threads);
            if (n < 1) throw new ArgumentException($"--threads must be at least 1, got {n}");
            var watch = Stopwatch.StartNew();
            var metrics = PanopticEvaluator.EvaluateFiles(parse.GetValue(gtJson)!.FullName, parse.GetValue(gtFolder)!.FullName,
                parse.GetValue(predJson)!.FullName, parse.GetValue(predFolder)!.FullName, new PanopticEvaluatorOptions { Threads = n });
            stdout.Write(metrics.ToString());
            if (parse.GetValue(perClass))
            {
                stdout.WriteLine();
                stdout.Write(metrics.ToPerClassTable());
            }
            stderr.WriteLine($"Evaluated {metrics.ImageCount} images in {watch.Elapsed.TotalSeconds:F2} s.");
            if (parse.GetValue(json) is { } output)
                JsonOutput.Write(output.FullName, w => metrics.WriteJson(w));
            if (parse.GetValue(chart) is { } chartFile)
                PanopticQualityChart.Save(chartFile.FullName, metrics);
            return CliExit.Ok;
        }));
        return command;
    }
}
