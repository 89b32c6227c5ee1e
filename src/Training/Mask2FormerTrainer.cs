using System.Diagnostics;
using System.Text.Json.Nodes;
using Microsoft.ML.Mask2Former.Evaluation;
using Microsoft.ML.Mask2Former.Scoring;
using Microsoft.ML.Mask2Former.Training.Checkpoints;
using Microsoft.ML.Mask2Former.Training.Distributed;
using Microsoft.ML.Mask2Former.Training.Data;
using Microsoft.ML.Mask2Former.Training.Losses;
using Microsoft.ML.Mask2Former.Training.Modeling;
using Microsoft.ML.Mask2Former.Training.Optimization;

namespace Microsoft.ML.Mask2Former.Training;

/// <summary>
/// Trains Mask2Former on COCO panoptic data: seeded, parallel data loading with large-scale
/// jitter; Hungarian-matched set loss with deep supervision; AdamW with the backbone at a tenth
/// of the rate, no decay on norms and embeddings; multi-step or poly schedule; full-model
/// gradient clipping; atomic, exactly resumable checkpoints; validation PQ with the panopticapi
/// evaluator. Defaults are the Mask2Former COCO recipe (see <see cref="Mask2FormerTrainerOptions"/>).
/// </summary>
/// <example>
/// <code>
/// var trainer = new Mask2FormerTrainer(new Mask2FormerTrainerOptions { MaxSteps = 2000, BatchSize = 4, ImageSize = 256, OutputFolder = "out" });
/// using var result = trainer.Fit("data/coco-like", new Progress&lt;TrainingProgress&gt;(p =&gt; Console.WriteLine(p)));
/// </code>
/// </example>
public sealed class Mask2FormerTrainer
{
    private const string LabelsFile = Mask2FormerConfig.LabelsFileName;

    /// <summary>Creates a trainer.</summary>
    /// <param name="options">The settings; <see langword="null"/> for the defaults.</param>
    public Mask2FormerTrainer(Mask2FormerTrainerOptions? options = null)
    {
        Options = options ?? new Mask2FormerTrainerOptions();
    }

    /// <summary>The settings in use.</summary>
    public Mask2FormerTrainerOptions Options { get; }

    // Warnings found before training starts (a partial --init), reported with the data set's.
    private readonly List<string> _initialWarnings = [];

    /// <summary>
    /// The MPI job this process trains in with the others (data-parallel), or <see langword="null"/>
    /// (the default) to train alone. Every rank runs the same options on the same data:
    /// <see cref="Mask2FormerTrainerOptions.BatchSize"/> is per rank, and a step of N ranks trains
    /// on the combined batch one process with batch N·B would (same images, augmentation and
    /// random points; gradients summed over ranks before one identical optimizer step on every
    /// rank). Rank 0 alone writes the output folder, the log and reports progress and validation;
    /// every rank resumes from the same checkpoint. A failure of one rank aborts the job.
    /// </summary>
    public MpiWorld? DataParallel { get; init; }

    /// <summary>Injects NaN into the input of the steps it returns true for (tests of the divergence guard).</summary>
    internal Func<long, bool>? PoisonInput { get; set; }

    /// <summary>
    /// Trains a new network on the COCO panoptic folder <paramref name="dataFolder"/>
    /// (<c>images/</c>, <c>panoptic.json</c>, <c>panoptic/</c>). The network is built from
    /// <see cref="Mask2FormerTrainerOptions.Config"/> (or the named preset) with the data set's
    /// categories as its classes, seeded with <see cref="Mask2FormerTrainerOptions.Seed"/>, and
    /// optionally initialised from <see cref="Mask2FormerTrainerOptions.InitialWeights"/>. With
    /// <see cref="Mask2FormerTrainerOptions.Resume"/> the run continues from the last checkpoint
    /// and ends with the weights an uninterrupted run would have.
    /// </summary>
    /// <param name="dataFolder">The training data.</param>
    /// <param name="progress">Receives a report every <see cref="Mask2FormerTrainerOptions.ReportInterval"/> steps and after each validation.</param>
    /// <param name="cancellationToken">Stops training before the next step; a checkpoint of the steps done is written first (with an output folder).</param>
    /// <returns>The trained network and a summary.</returns>
    /// <exception cref="ArgumentException">An option is invalid.</exception>
    /// <exception cref="DataFormatException">The data set is invalid (e.g. a category outside the label set) or no image can be read.</exception>
    /// <exception cref="TrainingDivergedException">The loss or gradient became NaN or infinite.</exception>
    /// <exception cref="OperationCanceledException">Cancelled (after writing a checkpoint when there is an output folder).</exception>
    public Mask2FormerTrainingResult Fit(string dataFolder, IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(dataFolder);
        return FitCore(labels => CocoPanopticTrainingSet.Open(dataFolder, labels), progress, cancellationToken);
    }

    /// <summary>
    /// Trains a new network (or resumes) on COCO panoptic data given by its three parts, as
    /// <see cref="Fit(string, IProgress{TrainingProgress}?, CancellationToken)"/> does for the standard folder layout.
    /// </summary>
    /// <param name="annotationsJson">The COCO panoptic JSON.</param>
    /// <param name="imagesFolder">The photos, named by the JSON's image <c>file_name</c>.</param>
    /// <param name="segmentMapsFolder">The segment-map PNGs, named by the annotations' <c>file_name</c>.</param>
    /// <param name="progress">Receives reports.</param>
    /// <param name="cancellationToken">Stops before the next step (after a checkpoint).</param>
    public Mask2FormerTrainingResult Fit(string annotationsJson, string imagesFolder, string segmentMapsFolder, IProgress<TrainingProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(annotationsJson);
        ArgumentException.ThrowIfNullOrEmpty(imagesFolder);
        ArgumentException.ThrowIfNullOrEmpty(segmentMapsFolder);
        return FitCore(labels => CocoPanopticTrainingSet.Open(annotationsJson, imagesFolder, segmentMapsFolder, labels), progress, cancellationToken);
    }

    private Mask2FormerTrainingResult FitCore(Func<IReadOnlyList<string>?, CocoPanopticTrainingSet> open, IProgress<TrainingProgress>? progress,
        CancellationToken cancellationToken) => CollectiveFailure.RunOrAbort(DataParallel, () => FitCoreAlone(open, progress, cancellationToken));

    private Mask2FormerTrainingResult FitCoreAlone(Func<IReadOnlyList<string>?, CocoPanopticTrainingSet> open, IProgress<TrainingProgress>? progress,
        CancellationToken cancellationToken)
    {
        Options.Validate();
        var requested = Options.Config ?? Presets.Get(Options.ConfigName);
        var config = requested;
        CocoPanopticTrainingSet set;
        string? resumeConfig = null;
        if (Options.Resume && TrainingCheckpoint.Latest(Options.OutputFolder!) is { } latest)
            resumeConfig = Path.Combine(latest, TrainingCheckpoint.ConfigFile);
        if (resumeConfig is not null)
        {
            config = Mask2FormerConfig.Load(resumeConfig);
            set = open(config.Labels);
            CheckSameConfiguration(WithDataCategories(requested, set), config, resumeConfig);
        }
        else
        {
            set = open(Options.KeepConfigLabels ? config.Labels : null);
            config = WithDataCategories(config, set);
        }
        // Only rank 0 validates (and so needs the validation data).
        var validation = Options.ValidationFolder is { } vf && (DataParallel?.IsRoot ?? true) ? CocoPanopticTrainingSet.Open(vf, set.Labels) : null;

        manual_seed(Options.Seed);
        var network = new Mask2FormerForUniversalSegmentation(config);
        try
        {
            if (Options.InitialWeights is { } init && resumeConfig is null)
            {
                init = InitialWeightsFile(init);
                var report = init.EndsWith(".pth", StringComparison.OrdinalIgnoreCase)
                    ? MmdetModelFolder.LoadWeights(network, init, strict: false)
                    : ModuleCheckpoint.Load(network, init, strict: false);
                var total = report.Loaded.Count + report.Missing.Count + report.ShapeMismatches.Count;
                if (report.Loaded.Count == 0)
                    throw new DataFormatException($"the initial weights hold none of the model's {total} tensors ({report.Unexpected.Count} tensors of other names, " +
                        $"{report.ShapeMismatches.Count} of the model's names with other shapes, e.g. {string.Join(", ", report.Unexpected.Concat(report.ShapeMismatches.Select(m => m.ToString())).Take(3))}): they are not weights of this model", Path.GetFullPath(init));
                if (report.Loaded.Count < total)
                    _initialWarnings.Add($"initial weights '{init}': loaded {report.Loaded.Count} of the model's {total} tensors; {report.Missing.Count} absent from the file and {report.ShapeMismatches.Count} of another shape keep their random initial values");
            }
            return Train(network, set, validation, progress, cancellationToken);
        }
        catch
        {
            network.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The weights file of <see cref="Mask2FormerTrainerOptions.InitialWeights"/>: the file itself, or in a
    /// model folder its <c>checkpoint.pth</c> (mmdetection) or <c>model.safetensors</c> (ours / Hugging Face).
    /// </summary>
    private static string InitialWeightsFile(string init)
    {
        if (Directory.Exists(init))
        {
            var file = Path.Combine(init, MmdetModelFolder.IsMmdetFolder(init) ? MmdetModelFolder.CheckpointFile : TrainingCheckpoint.ModelFile);
            if (!File.Exists(file)) throw new FileNotFoundException($"the initial-weights folder '{init}' has no {Path.GetFileName(file)}", file);
            return file;
        }
        if (!File.Exists(init)) throw new FileNotFoundException($"initial weights not found: '{init}'", init);
        return init;
    }

    /// <summary>
    /// Trains <paramref name="network"/> in place on <paramref name="trainingSet"/>, whose labels
    /// must be the network's classes in order.
    /// </summary>
    /// <param name="network">The network to train (its classes = <paramref name="trainingSet"/>'s labels).</param>
    /// <param name="trainingSet">The training data.</param>
    /// <param name="validationSet">Data for validation PQ, or null.</param>
    /// <param name="progress">Receives reports.</param>
    /// <param name="cancellationToken">Stops before the next step (after a checkpoint).</param>
    /// <returns>The same network, trained, and a summary.</returns>
    /// <exception cref="ArgumentException">The labels differ from the network's classes, or an option is invalid.</exception>
    /// <exception cref="TrainingDivergedException">The loss or gradient became NaN or infinite.</exception>
    public Mask2FormerTrainingResult Train(Mask2FormerForUniversalSegmentation network, CocoPanopticTrainingSet trainingSet, CocoPanopticTrainingSet? validationSet = null,
        IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default) =>
        CollectiveFailure.RunOrAbort(DataParallel, () => TrainAlone(network, trainingSet, validationSet, progress, cancellationToken));

    private Mask2FormerTrainingResult TrainAlone(Mask2FormerForUniversalSegmentation network, CocoPanopticTrainingSet trainingSet, CocoPanopticTrainingSet? validationSet,
        IProgress<TrainingProgress>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(trainingSet);
        var o = Options;
        o.Validate();
        var config = network.Config;
        if (!config.Labels.SequenceEqual(trainingSet.Labels))
            throw new ArgumentException($"the network's {config.NumLabels} classes differ from the data set's labels ({trainingSet.Labels.Count}); open the set with the network's labels", nameof(trainingSet));
        if (o.BatchSize > trainingSet.Count)
            throw new ArgumentException($"{nameof(o.BatchSize)} {o.BatchSize} is larger than the training set ({trainingSet.Count} images); use at most {trainingSet.Count}");
        if (!Enumerable.Range(0, trainingSet.Count).Any(i => trainingSet.Annotation(i).Segments.Any(seg => !seg.IsCrowd)))
            throw new DataFormatException($"none of the {trainingSet.Count} images has a segment that is not a crowd region (iscrowd 1): there is nothing to learn from", trainingSet.Dataset.Source);
        var data = DataFingerprint(trainingSet);

        // A world of one trains as a single process; in a larger one only rank 0 writes or reports.
        var world = DataParallel is { Size: > 1 } job ? job : null;
        var root = world is null || world.IsRoot;
        var combinedBatch = o.BatchSize * (world?.Size ?? 1);
        if (!root) progress = null;
        var output = o.OutputFolder is null ? null : Path.GetFullPath(o.OutputFolder);
        if (output is not null && root)
        {
            Directory.CreateDirectory(output);
            TrainingCheckpoint.RemoveInterruptedWrites(output, [TrainingCheckpoint.ConfigFile, TrainingCheckpoint.ModelFile, LabelsFile]);
        }
        using var log = new TrainingRunLog(root ? output : null, trainingSet.Warnings.Concat(_initialWarnings), o.Warning);
        _initialWarnings.Clear();

        var points = o.NumPoints ?? config.TrainNumPoints;
        var criterion = new Mask2FormerCriterion(config.NumLabels, new Mask2FormerCriterionOptions
        {
            ClassWeight = config.ClassWeight,
            MaskWeight = config.MaskWeight,
            DiceWeight = config.DiceWeight,
            NoObjectWeight = config.NoObjectWeight,
            NumPoints = points,
            OversampleRatio = config.OversampleRatio,
            ImportanceSampleRatio = config.ImportanceSampleRatio,
            Matcher = new HungarianMatcherOptions { ClassCost = config.ClassWeight, MaskCost = config.MaskWeight, DiceCost = config.DiceWeight, NumPoints = points },
        });
        var groups = o.LayerDecayRate is { } layerDecay
            ? ParameterGroups.BuildLayerDecay(network, o.LearningRate, o.WeightDecay, layerDecay)
            : ParameterGroups.Build(network, o.LearningRate, o.WeightDecay, o.BackboneMultiplier);
        using var optimizer = ParameterGroups.CreateAdamW(groups, o.Beta1, o.Beta2, o.Epsilon);
        var controllers = optimizer.ParamGroups.ToArray();
        var parameters = groups.SelectMany(g => g.Parameters.Select(p => p.Parameter)).ToArray();
        var schedule = new LearningRateSchedule(o.Schedule, o.MaxSteps, o.Milestones, o.Gamma, o.PolyPower, o.WarmupSteps, o.WarmupFactor);
        var scheduleJson = new JsonObject
        {
            ["kind"] = schedule.Kind.ToString(),
            ["milestone_steps"] = new JsonArray(schedule.MilestoneSteps.Select(m => (JsonNode)m).ToArray()),
            ["gamma"] = schedule.Gamma,
            ["poly_power"] = schedule.PolyPower,
            ["warmup_steps"] = schedule.WarmupSteps,
            ["warmup_factor"] = schedule.WarmupFactor,
            ["base_lr"] = o.LearningRate,
            ["group_lrs"] = new JsonArray(groups.Select(g => (JsonNode)g.LearningRate).ToArray()),
        };
        var checkpoints = new CheckpointPolicy(output, root, o, combinedBatch, data, schedule, scheduleJson, network, optimizer, trainingSet, log);

        manual_seed(o.Seed);
        long step = 0, cursor = 0;
        var resumeFrom = o.Resume ? TrainingCheckpoint.Latest(output!) : null;
        using var gradients = world is null ? null : new GradientSum(world, parameters);
        if (world is not null)
        {
            RunAgreement.Check(world,
            [
                ("checkpoint step to resume from", RunAgreement.CheckpointStep(resumeFrom)), ("seed", o.Seed), ("batch per rank", o.BatchSize), ("steps", o.MaxSteps),
                ("training images", trainingSet.Count), ("classes", config.NumLabels), ("parameters", parameters.Sum(p => (double)p.numel())),
            ], "every rank must run the same command on the same data and see the same output folder (a shared file system when the job spans machines)");
        }
        if (resumeFrom is { } latest)
            (step, cursor) = checkpoints.Resume(latest, world);
        else
            log.Write(new JsonObject { ["event"] = "start", ["images"] = trainingSet.Count, ["classes"] = config.NumLabels, ["steps"] = o.MaxSteps, ["batch"] = combinedBatch, ["size"] = o.ImageSize });
        if (world is not null)
        {
            log.Write(new JsonObject { ["event"] = "data_parallel", ["ranks"] = world.Size, ["batch_per_rank"] = o.BatchSize, ["mpi"] = world.LibraryVersion });
            // Identical weights on every rank whatever its machine (the optimizer state comes from the shared checkpoint).
            gradients!.BroadcastFromRoot();
        }
        checkpoints.WriteModelFilesAtStart(step);

        var augmentation = new TrainingAugmentation
        {
            Mode = o.ResizeMode,
            Size = o.ImageSize,
            MinScale = o.MinScale,
            MaxScale = o.MaxScale,
            FlipProbability = o.FlipProbability,
            PixelMean = o.PixelMean,
            PixelStd = o.PixelStd,
        };
        var validation = new ValidationSchedule(validationSet is null || o.ValidationInterval == 0 || !root ? null
            : new PanopticValidation(validationSet, o.ValidationImageSize ?? o.ImageSize, o.PixelMean, o.PixelStd, o.MaxValidationImages),
            o.ValidationInterval, o.MaxSteps, o.ValidationObjectMaskThreshold);
        var train = new TrainingStep(network, criterion, optimizer, parameters, o, world, gradients) { PoisonInput = PoisonInput };

        IReadOnlyDictionary<string, double> lastLosses = new Dictionary<string, double>();
        PanopticSegmentationMetrics? lastValidation = null;
        network.train();
        var window = Stopwatch.StartNew();
        long windowImages = 0, windowSteps = 0;
        double windowWait = 0;
        var stopAgreed = false;
        using (IBatchSource loader = world is null
            ? new TrainingDataLoader(trainingSet, augmentation, o.BatchSize, o.Seed, o.LoaderThreads, cursor)
            : new ShardedDataLoader(trainingSet, augmentation, o.BatchSize, o.Seed, o.LoaderThreads, cursor, world))
        {
            while (step < o.MaxSteps)
            {
                // Ranks stop together: at the step after any of them was asked to (agreed with the gradients).
                if (world is null ? cancellationToken.IsCancellationRequested : stopAgreed)
                {
                    checkpoints.AtStop(step, cursor);
                    log.Write(new JsonObject { ["event"] = "cancelled", ["step"] = step });
                    throw CollectiveFailure.Mark(new OperationCanceledException(cancellationToken));
                }
                var factor = schedule.Factor(step);
                for (var g = 0; g < controllers.Length; g++) controllers[g].LearningRate = groups[g].LearningRate * factor;

                var loaded = loader.Next();
                windowWait += loader.LastWaitSeconds;
                foreach (var w in loaded.Warnings) log.Warn(w);
                log.DrainWarnings();
                var atStep = step;
                (lastLosses, stopAgreed) = train.Run(loaded, step, cancellationToken.IsCancellationRequested,
                    failure => log.Diverged(atStep, failure, checkpoints.LastCheckpoint));
                step++;
                cursor = loaded.EndCursor;
                windowImages += loaded.Combined.Images;
                windowSteps++;

                var validate = validation.IsDue(step);
                if (step % o.ReportInterval == 0 || step == o.MaxSteps || validate)
                {
                    var elapsed = window.Elapsed.TotalSeconds;
                    var perStep = elapsed / Math.Max(1, windowSteps);
                    var metrics = validate ? validation.Run(network) : null;
                    lastValidation = metrics ?? lastValidation;
                    var report = new TrainingProgress
                    {
                        Step = step,
                        TotalSteps = o.MaxSteps,
                        Loss = lastLosses["loss"],
                        Losses = lastLosses,
                        LearningRate = o.LearningRate * factor,
                        ImagesPerSecond = windowImages / Math.Max(1e-9, elapsed),
                        DataWaitShare = Math.Clamp(windowWait / Math.Max(1e-9, elapsed), 0, 1),
                        EstimatedRemaining = TimeSpan.FromSeconds(perStep * (o.MaxSteps - step)),
                        ValidationPanopticQuality = metrics?.PanopticQuality,
                        Validation = metrics,
                    };
                    log.Report(report);
                    progress?.Report(report);
                    window.Restart();
                    windowImages = windowSteps = 0;
                    windowWait = 0;
                }
                checkpoints.AfterStep(step, cursor);
            }
        }
        // Every rank returns once rank 0's files are complete.
        world?.Barrier();
        log.DrainWarnings();
        network.eval();
        log.Write(new JsonObject { ["event"] = "done", ["step"] = step });
        return new Mask2FormerTrainingResult(network, step, lastLosses, lastValidation, log.Warnings, output, checkpoints.LastCheckpoint);
    }

    /// <summary>
    /// The SHA-256 of the data set's annotations file (else of its image ids and file names): what a
    /// checkpoint records, so a run resumed on another data set is refused.
    /// </summary>
    private static string DataFingerprint(CocoPanopticTrainingSet set)
    {
        if (File.Exists(set.Dataset.Source))
        {
            using var stream = File.OpenRead(set.Dataset.Source);
            return Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(stream));
        }
        var listing = string.Join("\n", set.Images.Select(i => $"{i.Id}\t{i.FileName}"));
        return Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(listing)));
    }

    /// <summary>Refuses to resume a checkpoint of another configuration than the one asked for, naming each field that differs.</summary>
    private static void CheckSameConfiguration(Mask2FormerConfig requested, Mask2FormerConfig trained, string trainedPath)
    {
        var asked = (JsonObject)JsonNode.Parse(requested.ToJson())!;
        var had = (JsonObject)JsonNode.Parse(trained.ToJson())!;
        var differences = asked.Select(p => p.Key).Union(had.Select(p => p.Key)).Order(StringComparer.Ordinal)
            .Where(k => !JsonNode.DeepEquals(asked[k], had[k]))
            .Select(k => asked[k] is JsonValue or null && had[k] is JsonValue or null
                ? $"{k} {had[k]?.ToJsonString() ?? "absent"} there, {asked[k]?.ToJsonString() ?? "absent"} now"
                : $"{k} differs")
            .ToList();
        if (differences.Count > 0)
            throw new ArgumentException($"the checkpoint configuration '{trainedPath}' is not the configuration asked for ({string.Join("; ", differences.Take(8))}{(differences.Count > 8 ? $"; {differences.Count - 8} more" : "")}); resume with the configuration it was trained with, or train into another output folder");
    }

    /// <summary>
    /// A copy of <paramref name="config"/> whose classes are the training set's labels, each with
    /// its data-set category (id, name, thing flag). A class the data set lacks (fine-tuning with
    /// <see cref="Mask2FormerTrainerOptions.KeepConfigLabels"/>) keeps the category the configuration
    /// gave it; when some class has none, the configuration carries no categories.
    /// </summary>
    internal static Mask2FormerConfig WithDataCategories(Mask2FormerConfig config, CocoPanopticTrainingSet set)
    {
        var known = config.Labels.SequenceEqual(set.Labels) ? config.Categories : null;
        var categories = new Mask2FormerLabel[set.Labels.Count];
        for (var k = 0; k < categories.Length; k++)
        {
            if (set.CategoryIds[k] >= 0) categories[k] = new Mask2FormerLabel(set.CategoryIds[k], set.Labels[k], set.IsThing[k]);
            else if (known is not null) categories[k] = known[k];
            else return config with { Labels = set.Labels.ToArray(), Categories = null };
        }
        return config.WithCategories(categories);
    }
}
