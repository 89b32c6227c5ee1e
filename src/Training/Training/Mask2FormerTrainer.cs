using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.ML.Mask2Former.Evaluation;
using Microsoft.ML.Mask2Former.Formats;
using Microsoft.ML.Mask2Former.Scoring;
using Microsoft.ML.Mask2Former.Training.Checkpoints;
using Microsoft.ML.Mask2Former.Training.Distributed;
using Microsoft.ML.Mask2Former.Training.Runtime;
using Microsoft.ML.Mask2Former.Training.Data;
using Microsoft.ML.Mask2Former.Training.Losses;
using Microsoft.ML.Mask2Former.Training.Modeling;
using Microsoft.ML.Mask2Former.Training.Optimization;
using TorchSharp;
using static TorchSharp.torch;

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

    // Salts that keep the per-image point generators and the per-rank dropout seeds apart from the augmentation's stream seeds.
    private const int PointSeedSalt = 0x3C6EF372;
    private const int DropSeedSalt = 0x1F83D9AB;

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
        using var log = output is null || !root ? null : new StreamWriter(Path.Combine(output, "log.jsonl"), append: true, new System.Text.UTF8Encoding(false));
        var warnings = new List<string>();
        var pendingWarnings = new ConcurrentQueue<string>(trainingSet.Warnings.Concat(_initialWarnings));
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
        var groups = o.LayerDecayRate is { } decayRate
            ? ParameterGroups.BuildLayerDecay(network, o.LearningRate, o.WeightDecay, decayRate,
                o.LayerDecayLayers ?? (config.Backbone as VitAdapterConfig)?.Depth
                ?? throw new ArgumentException($"{nameof(o.LayerDecayRate)} needs a ViT-Adapter backbone or {nameof(o.LayerDecayLayers)}"))
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

        manual_seed(o.Seed);
        long step = 0, cursor = 0;
        string? lastCheckpoint = null;
        long savedStep = -1;
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
        {
            var state = TrainingCheckpoint.ReadState(latest);
            // A checkpoint stores the combined batch: N ranks with batch B resume one written by one process with batch N·B, and back.
            if (state.BatchSize != combinedBatch || state.Seed != o.Seed)
                throw new ArgumentException($"the checkpoint in '{latest}' was trained with batch {state.BatchSize} and seed {state.Seed}; resume with the same --batch and --seed (got {combinedBatch}" +
                    (world is null ? "" : $" = {world.Size} ranks × {o.BatchSize}") + $", {o.Seed})");
            if (state.ImageSize is { } size && size != o.ImageSize)
                throw new ArgumentException($"the checkpoint in '{latest}' was trained with {nameof(o.ImageSize)} {size}; resume with the same value (got {o.ImageSize})");
            if (state.Data is { } trainedOn && trainedOn != data)
                throw new ArgumentException($"the checkpoint in '{latest}' was trained on another data set (annotations SHA-256 {trainedOn[..16]}…, these {data[..16]}…); resume with the same data, or train into another output folder");
            if (state.Step > o.MaxSteps)
                throw new ArgumentException($"the checkpoint in '{latest}' is at step {state.Step}, past {nameof(o.MaxSteps)} {o.MaxSteps}; resume with at least {state.Step} steps");
            TrainingCheckpoint.Restore(latest, network, optimizer);
            step = state.Step;
            cursor = state.Cursor;
            lastCheckpoint = latest;
            savedStep = step;
            Log(log, new JsonObject { ["event"] = "resume", ["from"] = latest, ["step"] = step });
        }
        else
        {
            Log(log, new JsonObject { ["event"] = "start", ["images"] = trainingSet.Count, ["classes"] = config.NumLabels, ["steps"] = o.MaxSteps, ["batch"] = combinedBatch, ["size"] = o.ImageSize });
        }
        if (world is not null)
        {
            Log(log, new JsonObject { ["event"] = "data_parallel", ["ranks"] = world.Size, ["batch_per_rank"] = o.BatchSize, ["mpi"] = world.LibraryVersion });
            // Identical weights on every rank whatever its machine (the optimizer state comes from the shared checkpoint).
            gradients!.BroadcastFromRoot();
        }
        // A run resumed at its last step has nothing to train; its model files are made whole again
        // (the copy of the last checkpoint's weights may have been killed).
        if (output is not null && root)
            WriteModelFiles(output, network, trainingSet, modelFrom: lastCheckpoint is not null && step == o.MaxSteps ? Path.Combine(lastCheckpoint, TrainingCheckpoint.ModelFile) : null);

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
        var validation = validationSet is null || o.ValidationInterval == 0 || !root ? null
            : new PanopticValidation(validationSet, o.ValidationImageSize ?? o.ImageSize, o.PixelMean, o.PixelStd, o.MaxValidationImages);

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
                    if (output is not null && savedStep != step) lastCheckpoint = SaveCheckpoint(output, step, cursor);
                    Log(log, new JsonObject { ["event"] = "cancelled", ["step"] = step });
                    throw CollectiveFailure.Mark(new OperationCanceledException(cancellationToken));
                }
                var factor = schedule.Factor(step);
                for (var g = 0; g < controllers.Length; g++) controllers[g].LearningRate = groups[g].LearningRate * factor;

                var loaded = loader.Next();
                windowWait += loader.LastWaitSeconds;
                foreach (var w in loaded.Warnings) pendingWarnings.Enqueue(w);
                DrainWarnings();
                // Each image draws its random points from a generator seeded by its stream position, so
                // it gets the same points in whichever rank's share of the combined batch it lands.
                var imageRandom = loaded.Positions.Select(p => new Generator((ulong)TrainingDataLoader.StreamSeed(o.Seed ^ PointSeedSalt, p))).ToArray();
                try
                {
                    using (NoCollectionRegion.Enter())
                    using (var scope = NewDisposeScope())
                    {
                        // Dropout and drop path draw from the global generator: per rank and step in a data-parallel run.
                        if (world is not null) manual_seed(TrainingDataLoader.StreamSeed(o.Seed ^ (DropSeedSalt + world.Rank), step));
                        using var batch = TrainingBatch.Create(loaded.Examples, height: loaded.Combined.Height, width: loaded.Combined.Width);
                        if (PoisonInput?.Invoke(step) == true) batch.PixelValues.fill_(double.NaN);
                        using var prediction = network.forward(batch.PixelValues);
                        string? failure = null;
                        if (!prediction.ClassQueriesLogits.isfinite().all().item<bool>() || !prediction.MasksQueriesLogits.isfinite().all().item<bool>())
                            failure = "the network output holds NaN or infinite logits (non-finite weights or input)";
                        var share = BatchShare.For(loaded.Combined.SegmentCounts, (int)prediction.ClassQueriesLogits.shape[1], criterion.Options.NoObjectWeight, imageRandom);
                        using var loss = failure is null ? criterion.Compute(prediction, batch.Targets, share) : null;
                        var values = loss?.ToValues();
                        if (values is not null && !double.IsFinite(values["loss"])) failure = $"the loss is {values["loss"]} ({Describe(values)})";
                        if (failure is not null && world is null) throw Diverged(step, failure, lastCheckpoint, log);
                        optimizer.zero_grad();
                        if (failure is null) loss!.Total.backward();
                        if (gradients is not null)
                        {
                            var agreed = gradients.Sum(nonFinite: failure is not null, stop: cancellationToken.IsCancellationRequested);
                            if (agreed.NonFiniteRanks > 0)
                                throw CollectiveFailure.Mark(Diverged(step, failure is null ? $"{agreed.NonFiniteRanks} other rank(s) found a non-finite output or loss" : $"on rank {world!.Rank}, {failure}", lastCheckpoint, log));
                            stopAgreed = agreed.StoppingRanks > 0;
                            values = gradients.SumLosses(values!);
                        }
                        if (o.GradientClipNorm > 0)
                        {
                            // After the sum: the norm of the combined batch's gradient, the same on every rank.
                            var norm = nn.utils.clip_grad_norm_(parameters, o.GradientClipNorm);
                            if (!double.IsFinite(norm)) throw CollectiveFailure.Mark(Diverged(step, $"the gradient norm is {norm} (loss {values!["loss"]})", lastCheckpoint, log));
                        }
                        optimizer.step();
                        lastLosses = values!;
                    }
                }
                finally
                {
                    foreach (var g in imageRandom) g.Dispose();
                }
                step++;
                cursor = loaded.EndCursor;
                windowImages += loaded.Combined.Images;
                windowSteps++;

                var validate = validation is not null && (step % o.ValidationInterval == 0 || step == o.MaxSteps);
                if (step % o.ReportInterval == 0 || step == o.MaxSteps || validate)
                {
                    var elapsed = window.Elapsed.TotalSeconds;
                    var perStep = elapsed / Math.Max(1, windowSteps);
                    PanopticSegmentationMetrics? metrics = null;
                    if (validate)
                    {
                        // Validation must not disturb the random stream, so a run with more validations trains identically.
                        using var rng = torch.random.get_rng_state();
                        metrics = validation!.Evaluate(network, new Microsoft.ML.Mask2Former.PostProcessing.PanopticOptions { ObjectMaskThreshold = Options.ValidationObjectMaskThreshold });
                        torch.random.set_rng_state(rng);
                        lastValidation = metrics;
                    }
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
                    Log(log, ReportJson(report));
                    progress?.Report(report);
                    window.Restart();
                    windowImages = windowSteps = 0;
                    windowWait = 0;
                }
                if (output is not null && (step % o.CheckpointInterval == 0 || step == o.MaxSteps))
                    lastCheckpoint = SaveCheckpoint(output, step, cursor);
            }
        }
        // Every rank returns once rank 0's files are complete.
        world?.Barrier();
        DrainWarnings();
        network.eval();
        Log(log, new JsonObject { ["event"] = "done", ["step"] = step });
        return new Mask2FormerTrainingResult(network, step, lastLosses, lastValidation, warnings, output, lastCheckpoint);

        string SaveCheckpoint(string folder, long atStep, long atCursor)
        {
            if (!root) return TrainingCheckpoint.FolderOf(folder, atStep);
            var state = new TrainingState(atStep, atCursor, o.MaxSteps, o.Seed, combinedBatch, schedule.Factor(Math.Max(0, atStep - 1)), ImageSize: o.ImageSize, Data: data);
            var dir = TrainingCheckpoint.Save(folder, state, network, optimizer, (JsonObject)scheduleJson.DeepClone(), o.KeepCheckpoints);
            WriteModelFiles(folder, network, trainingSet, Path.Combine(dir, TrainingCheckpoint.ModelFile));
            Log(log, new JsonObject { ["event"] = "checkpoint", ["step"] = atStep, ["folder"] = dir });
            savedStep = atStep;
            return dir;
        }

        void DrainWarnings()
        {
            while (pendingWarnings.TryDequeue(out var w))
            {
                warnings.Add(w);
                Log(log, new JsonObject { ["warning"] = w });
                o.Warning?.Invoke(w);
            }
        }
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

    private static TrainingDivergedException Diverged(long step, string what, string? lastCheckpoint, StreamWriter? log)
    {
        var message = $"Training diverged at step {step}: {what}. The weights were not updated" +
            (lastCheckpoint is null ? " and no checkpoint had been written." : $"; the last good checkpoint is '{lastCheckpoint}' (resume from it, e.g. with a lower learning rate).");
        Log(log, new JsonObject { ["event"] = "diverged", ["step"] = step, ["message"] = message });
        return new TrainingDivergedException(message, step, lastCheckpoint);
    }

    private static string Describe(IReadOnlyDictionary<string, double> values) =>
        string.Join(", ", values.Where(kv => !kv.Key.Contains('_', StringComparison.Ordinal) || kv.Key.Count(c => c == '_') == 1)
            .Select(kv => string.Create(CultureInfo.InvariantCulture, $"{kv.Key} {kv.Value:G4}")));

    /// <summary>config.json, model.safetensors and labels.json at the top of the output folder, each replaced atomically.</summary>
    private static void WriteModelFiles(string output, Mask2FormerForUniversalSegmentation network, CocoPanopticTrainingSet set, string? modelFrom)
    {
        var config = network.Config.Categories is null ? WithDataCategories(network.Config, set) : network.Config;
        AtomicFile.WriteAllText(Path.Combine(output, TrainingCheckpoint.ConfigFile), config.ToJson());
        var labels = new JsonArray();
        foreach (var c in config.CategoriesOrDefault())
            labels.Add(new JsonObject { ["id"] = c.Id, ["name"] = c.Name, ["isthing"] = c.IsThing });
        AtomicFile.WriteAllText(Path.Combine(output, LabelsFile), new JsonObject { ["labels"] = labels }.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        if (modelFrom is not null)
        {
            AtomicFile.Write(Path.Combine(output, TrainingCheckpoint.ModelFile), s =>
            {
                using var source = File.OpenRead(modelFrom);
                source.CopyTo(s);
            });
        }
    }

    private static JsonObject ReportJson(TrainingProgress p)
    {
        var o = new JsonObject
        {
            ["step"] = p.Step,
            ["lr"] = p.LearningRate,
            ["images_per_second"] = Math.Round(p.ImagesPerSecond, 4),
            ["data_wait_share"] = Math.Round(p.DataWaitShare, 4),
            ["eta_seconds"] = Math.Round(p.EstimatedRemaining.TotalSeconds, 1),
        };
        foreach (var (k, v) in p.Losses) o[k] = v;
        if (p.Validation is { } m)
        {
            o["pq"] = m.PanopticQuality;
            o["sq"] = m.SegmentationQuality;
            o["rq"] = m.RecognitionQuality;
            o["pq_things"] = m.Things.PanopticQuality;
            o["pq_stuff"] = m.Stuff.PanopticQuality;
        }
        return o;
    }

    private static void Log(StreamWriter? log, JsonObject entry)
    {
        if (log is null) return;
        log.WriteLine(entry.ToJsonString());
        log.Flush();
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
