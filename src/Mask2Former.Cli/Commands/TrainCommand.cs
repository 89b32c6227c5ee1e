using System.CommandLine;
using System.Globalization;
using Microsoft.ML.Mask2Former.Training;
using Microsoft.ML.Mask2Former.Training.Checkpoints;
using Microsoft.ML.Mask2Former.Training.Data;
using Microsoft.ML.Mask2Former.Training.Distributed;
using Microsoft.ML.Mask2Former.Training.Modeling;
using Microsoft.ML.Mask2Former.Training.Optimization;

namespace Mask2Former.Cli
{
    internal static partial class CommandHooks
    {
        static partial void AddTrain(RootCommand root, TextWriter stdout, TextWriter stderr) =>
            root.Subcommands.Add(Commands.TrainCommand.Create(stdout, stderr));
    }
}

namespace Mask2Former.Cli.Commands
{
    /// <summary>
    /// <c>m2f train --data DIR --config NAME|config.json --steps N --batch B --size S --out DIR [--resume] [--init model.safetensors]</c>:
    /// trains Mask2Former (TorchSharp) on a COCO panoptic folder. Under Open MPI's <c>mpirun</c> the
    /// ranks train data-parallel (<see cref="MpiWorld"/>); only rank 0 prints progress and writes files.
    /// </summary>
    internal static class TrainCommand
    {
        /// <summary>Exit code of a run stopped by a NaN or infinite loss (the last good checkpoint stays).</summary>
        public const int Diverged = 3;

        public static Command Create(TextWriter stdout, TextWriter stderr)
        {
            var data = new Option<DirectoryInfo>("--data") { Description = "COCO panoptic folder: images/, panoptic.json, panoptic/.", Required = true };
            var config = new Option<string>("--config") { Description = $"A preset ({string.Join(", ", Presets.Names)}) or a Hugging Face config.json; its classes become the data set's categories.", DefaultValueFactory = _ => "small" };
            var steps = new Option<long>("--steps") { Description = "Optimizer steps.", DefaultValueFactory = _ => 1000 };
            var batch = new Option<int>("--batch") { Description = "Images per step (per process under mpirun: N processes train on N × B images a step).", DefaultValueFactory = _ => 2 };
            var size = new Option<int>("--size") { Description = "Training crop size (large-scale jitter) in pixels.", DefaultValueFactory = _ => 256 };
            var output = new Option<DirectoryInfo>("--out") { Description = "Output folder: config.json, model.safetensors, labels.json, log.jsonl, checkpoints/.", Required = true };
            var resume = new Option<bool>("--resume") { Description = "Continue from the last checkpoint in --out (same --batch and --seed)." };
            var init = new Option<FileInfo?>("--init") { Description = "Start from these weights (safetensors with Hugging Face names, an mmdetection checkpoint.pth, or a model folder: an mmdetection folder's checkpoint.pth, else model.safetensors; without --config, an mmdetection folder's config.json is the network; mismatched tensors such as another class head are skipped)." };
            var lr = new Option<double>("--lr") { Description = "Base learning rate (backbone ×0.1).", DefaultValueFactory = _ => 1e-4 };
            var layerDecay = new Option<double?>("--layer-decay") { Description = "Layer-wise learning-rate decay for a ViT-Adapter backbone (the seed's recipe: 0.9); replaces the backbone ×0.1." };
            var seed = new Option<int>("--seed") { Description = "Seed of weights, data order, augmentation and point sampling.", DefaultValueFactory = _ => 0 };
            var schedule = new Option<string>("--schedule") { Description = "multistep (×0.1 at 88.9 % and 96.3 %) or poly.", DefaultValueFactory = _ => "multistep" };
            var warmup = new Option<long>("--warmup") { Description = "Linear warm-up steps from 0.001 × lr (0: none).", DefaultValueFactory = _ => 0 };
            var resize = new Option<string>("--resize") { Description = "lsj (large-scale jitter 0.1–2.0, crop, flip), multiscale (the seed's DETR-style shortest edge 480–800 / resize, crop 384–600, resize; flip; --size not used) or resize (fit into --size, flip).", DefaultValueFactory = _ => "lsj" };
            var points = new Option<int?>("--points") { Description = "Points per mask for matching and losses (default: the config's train_num_points, 12544)." };
            var validation = new Option<DirectoryInfo?>("--val") { Description = "COCO panoptic folder for validation PQ." };
            var validateEvery = new Option<long>("--val-every") { Description = "Steps between validations (and after the last).", DefaultValueFactory = _ => 500 };
            var checkpointEvery = new Option<long>("--checkpoint-every") { Description = "Steps between checkpoints (and after the last).", DefaultValueFactory = _ => 500 };
            var reportEvery = new Option<int>("--report-every") { Description = "Steps between progress lines.", DefaultValueFactory = _ => 20 };
            var command = new Command("train", "Train Mask2Former (TorchSharp, CPU) on COCO panoptic data; writes a Hugging Face-compatible model and resumable checkpoints.")
            {
                data, config, steps, batch, size, output, resume, init, lr, layerDecay, seed, schedule, warmup, resize, points, validation, validateEvery, checkpointEvery, reportEvery,
            };
            command.SetAction(parse => CliExit.Guard(stderr, () =>
                    {
                        var name = parse.GetValue(config)!;
                        // An mmdetection folder to fine-tune from describes its own network unless --config says otherwise.
                        if (parse.GetResult(config) is null or { Implicit: true } && parse.GetValue(init) is { } initFolder
                            && Directory.Exists(initFolder.FullName) && MmdetModelFolder.IsMmdetFolder(initFolder.FullName))
                            name = Path.Combine(initFolder.FullName, MmdetModelFolder.ConfigFile);
                        CliLimits.SquareSize(parse.GetValue(size), "--size");
                        var rank = "";
                        var options = new Mask2FormerTrainerOptions
                        {
                            MaxSteps = parse.GetValue(steps),
                            BatchSize = parse.GetValue(batch),
                            ImageSize = parse.GetValue(size),
                            OutputFolder = parse.GetValue(output)!.FullName,
                            Resume = parse.GetValue(resume),
                            InitialWeights = parse.GetValue(init)?.FullName,
                            LearningRate = parse.GetValue(lr),
                            LayerDecayRate = parse.GetValue(layerDecay),
                            Seed = parse.GetValue(seed),
                            Schedule = parse.GetValue(schedule)!.ToLowerInvariant() switch
                            {
                                "multistep" or "multi-step" => LearningRateScheduleKind.MultiStep,
                                "poly" => LearningRateScheduleKind.Poly,
                                var s => throw new ArgumentException($"--schedule must be multistep or poly, got '{s}'"),
                            },
                            WarmupSteps = parse.GetValue(warmup),
                            WarmupFactor = parse.GetValue(warmup) > 0 ? 0.001 : 1.0,
                            ResizeMode = parse.GetValue(resize)!.ToLowerInvariant() switch
                            {
                                "lsj" => ImageResizeMode.LargeScaleJitter,
                                "resize" => ImageResizeMode.Resize,
                                "multiscale" or "multi-scale" => ImageResizeMode.MultiScale,
                                var s => throw new ArgumentException($"--resize must be lsj, multiscale or resize, got '{s}'"),
                            },
                            NumPoints = parse.GetValue(points),
                            ValidationFolder = parse.GetValue(validation)?.FullName,
                            ValidationInterval = parse.GetValue(validateEvery),
                            CheckpointInterval = parse.GetValue(checkpointEvery),
                            ReportInterval = parse.GetValue(reportEvery),
                            Warning = w => stderr.WriteLine($"m2f: {rank}warning: {w}"),
                        };
                        if (File.Exists(name) || name.EndsWith(".json", StringComparison.OrdinalIgnoreCase)) options.Config = Mask2FormerConfig.Load(name);
                        else options.ConfigName = name;

                        // Joins the MPI job when started by mpirun (null otherwise); every rank leaves it (MPI_Finalize) on the way out.
                        using var world = MpiWorld.Initialize();
                        if (world is { Size: > 1 }) rank = $"rank {world.Rank}: ";
                        var progress = new Reporter(stdout);
                        Mask2FormerTrainingResult result;
                        try
                        {
                            result = new Mask2FormerTrainer(options) { DataParallel = world }.Fit(parse.GetValue(data)!.FullName, progress);
                        }
                        catch (TrainingDivergedException e)
                        {
                            stderr.WriteLine($"m2f: {rank}error: {e.Message}");
                            return Diverged;
                        }
                        catch (ArgumentException e)
                        {
                            throw new ArgumentException(InOptionNames(CliExit.Describe(e)), e);
                        }
                        using var network = result.Network;
                        if (world is { IsRoot: false }) return CliExit.Ok;
                        var summary = string.Create(CultureInfo.InvariantCulture, $"Trained {result.Steps} steps; final loss {result.LastLosses.GetValueOrDefault("loss"):F4}");
                        if (result.Validation is { } m) summary += string.Create(CultureInfo.InvariantCulture, $"; validation PQ {100 * m.PanopticQuality:F2} (SQ {100 * m.SegmentationQuality:F2}, RQ {100 * m.RecognitionQuality:F2})");
                        stdout.WriteLine($"{summary}. Model in {result.OutputFolder}.");
                        if (result.Warnings.Count > 0) stderr.WriteLine($"m2f: {result.Warnings.Count} warning(s); see log.jsonl.");
                        return CliExit.Ok;
                    }));
            return command;
        }

        private static readonly (string Property, string Option)[] OptionNames =
        [
            (nameof(Mask2FormerTrainerOptions.MaxSteps), "--steps"), (nameof(Mask2FormerTrainerOptions.BatchSize), "--batch"),
            (nameof(Mask2FormerTrainerOptions.ImageSize), "--size"), (nameof(Mask2FormerTrainerOptions.LearningRate), "--lr"),
            (nameof(Mask2FormerTrainerOptions.LayerDecayRate), "--layer-decay"),
            (nameof(Mask2FormerTrainerOptions.Seed), "--seed"), (nameof(Mask2FormerTrainerOptions.WarmupSteps), "--warmup"),
            (nameof(Mask2FormerTrainerOptions.NumPoints), "--points"), (nameof(Mask2FormerTrainerOptions.ValidationInterval), "--val-every"),
            (nameof(Mask2FormerTrainerOptions.CheckpointInterval), "--checkpoint-every"), (nameof(Mask2FormerTrainerOptions.ReportInterval), "--report-every"),
            (nameof(Mask2FormerTrainerOptions.OutputFolder), "--out"), (nameof(Mask2FormerTrainerOptions.InitialWeights), "--init"),
            (nameof(Mask2FormerTrainerOptions.ValidationFolder), "--val"), (nameof(Mask2FormerTrainerOptions.Resume), "--resume"),
        ];

        /// <summary>The trainer's messages name its properties (MaxSteps); the user typed options (--steps).</summary>
        internal static string InOptionNames(string message) =>
            OptionNames.Aggregate(message, (text, n) => System.Text.RegularExpressions.Regex.Replace(text, $@"\b{n.Property}\b", n.Option));

        /// <summary>Writes each report on the training thread (a <c>Progress&lt;T&gt;</c> would post them out of order).</summary>
        private sealed class Reporter(TextWriter stdout) : IProgress<TrainingProgress>
        {
            public void Report(TrainingProgress value)
            {
                stdout.WriteLine(value.ToString());
                if (value.Validation is { } m) stdout.WriteLine(m.ToString());
            }
        }
    }
}
