using System.CommandLine;
using System.Diagnostics;
using Microsoft.ML.Mask2Former.Evaluation;

namespace Mask2Former.Cli.Commands;

/// <summary><c>m2f eval semantic</c>: mIoU / fwIoU / mACC / pACC as detectron2's <c>SemSegEvaluator</c>.</summary>
internal static class EvalSemanticCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var gtFolder = new Option<DirectoryInfo>("--gt-folder") { Description = "Folder of ground-truth label PNGs (grayscale or palette).", Required = true };
        var predFolder = new Option<DirectoryInfo>("--pred-folder") { Description = "Folder of predicted label PNGs, named as the ground truth.", Required = true };
        var numClasses = new Option<int>("--num-classes") { Description = "Number of classes K (labels 0..K-1).", Required = true };
        var ignoreLabel = new Option<int>("--ignore-label")
        {
            Description = "Ground-truth label left out of every metric.",
            DefaultValueFactory = _ => 255,
        };
        var classNames = new Option<FileInfo?>("--class-names") { Description = "Text file with the K class names, one per line (default: 0..K-1)." };
        var json = new Option<FileInfo?>("--json") { Description = "Also write detectron2's result dictionary {\"sem_seg\": {...}} to this file (NaN as null)." };
        var threads = new Option<int>("--threads")
        {
            Description = "Images evaluated in parallel (results do not depend on it).",
            DefaultValueFactory = _ => Environment.ProcessorCount,
        };

        var command = new Command("semantic", "Semantic segmentation mIoU, fwIoU, mACC, pACC and per-class IoU / accuracy, identical to detectron2's SemSegEvaluator.")
        {
            gtFolder, predFolder, numClasses, ignoreLabel, classNames, json, threads,
        };
        command.SetAction(parse => CliExit.Guard(stderr, () =>
        {
            var k = parse.GetValue(numClasses);
            if (k is < 1 or > SemanticSegmentationAccumulator.MaxClasses)
                throw new ArgumentException($"--num-classes must be in 1..{SemanticSegmentationAccumulator.MaxClasses}, got {k}");
            var n = parse.GetValue(threads);
            if (n < 1) throw new ArgumentException($"--threads must be at least 1, got {n}");
            string[]? names = null;
            if (parse.GetValue(classNames) is { } namesFile)
            {
                if (!namesFile.Exists) throw new FileNotFoundException($"class-name file not found: '{namesFile.FullName}'", namesFile.FullName);
                names = File.ReadAllLines(namesFile.FullName).Where(l => l.Length > 0).ToArray();
                if (names.Length != k) throw new ArgumentException($"'{namesFile.FullName}' holds {names.Length} class names but --num-classes is {k}");
            }

            var watch = Stopwatch.StartNew();
            var metrics = SemanticSegmentationEvaluator.EvaluateFolders(parse.GetValue(gtFolder)!.FullName, parse.GetValue(predFolder)!.FullName,
                k, parse.GetValue(ignoreLabel), n, names);
            stdout.Write(metrics.ToString());
            stderr.WriteLine($"Evaluated {metrics.ImageCount} images in {watch.Elapsed.TotalSeconds:F2} s.");
            if (parse.GetValue(json) is { } output)
                JsonOutput.Write(output.FullName, w => metrics.WriteJson(w));
            return CliExit.Ok;
        }));
        return command;
    }
}
