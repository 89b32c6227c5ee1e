using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.ML.Mask2Former.Training.Data;
using Microsoft.ML.Mask2Former.Training.Distributed;
using Microsoft.ML.Mask2Former.Training.Modeling;
using Microsoft.ML.Mask2Former.Training.Optimization;

namespace Microsoft.ML.Mask2Former.Training;

/// <summary>
/// What a run writes into its output folder and when: a checkpoint every
/// <see cref="Mask2FormerTrainerOptions.CheckpointInterval"/> steps and at the end (the writing
/// rank only), the model files at the top of the folder after each, and the checks before a run
/// continues from a checkpoint (same combined batch, seed, image size, data and step budget).
/// </summary>
internal sealed class CheckpointPolicy(string? outputFolder, bool writes, Mask2FormerTrainerOptions options, int combinedBatch, string dataFingerprint,
    LearningRateSchedule schedule, JsonObject scheduleJson, Mask2FormerForUniversalSegmentation network, AdamW optimizer, CocoPanopticTrainingSet trainingSet,
    TrainingRunLog log)
{
    /// <summary>The newest complete checkpoint folder of this run, or null.</summary>
    public string? LastCheckpoint { get; private set; }

    private long _savedStep = -1;

    /// <summary>Checks that <paramref name="latest"/> belongs to this run and loads it; returns its step and data cursor.</summary>
    public (long Step, long Cursor) Resume(string latest, MpiWorld? world)
    {
        var o = options;
        var state = TrainingCheckpoint.ReadState(latest);
        // A checkpoint stores the combined batch: N ranks with batch B resume one written by one process with batch N·B, and back.
        if (state.BatchSize != combinedBatch || state.Seed != o.Seed)
            throw new ArgumentException($"the checkpoint in '{latest}' was trained with batch {state.BatchSize} and seed {state.Seed}; resume with the same --batch and --seed (got {combinedBatch}" +
                (world is null ? "" : $" = {world.Size} ranks × {o.BatchSize}") + $", {o.Seed})");
        if (state.ImageSize is { } size && size != o.ImageSize)
            throw new ArgumentException($"the checkpoint in '{latest}' was trained with {nameof(o.ImageSize)} {size}; resume with the same value (got {o.ImageSize})");
        if (state.Data is { } trainedOn && trainedOn != dataFingerprint)
            throw new ArgumentException($"the checkpoint in '{latest}' was trained on another data set (annotations SHA-256 {trainedOn[..16]}…, these {dataFingerprint[..16]}…); resume with the same data, or train into another output folder");
        if (state.Step > o.MaxSteps)
            throw new ArgumentException($"the checkpoint in '{latest}' is at step {state.Step}, past {nameof(o.MaxSteps)} {o.MaxSteps}; resume with at least {state.Step} steps");
        TrainingCheckpoint.Restore(latest, network, optimizer);
        LastCheckpoint = latest;
        _savedStep = state.Step;
        log.Write(new JsonObject { ["event"] = "resume", ["from"] = latest, ["step"] = state.Step });
        return (state.Step, state.Cursor);
    }

    /// <summary>
    /// The model files at the start of a run. A run resumed at its last step has nothing to train:
    /// its model files are made whole again from the last checkpoint (their copy may have been killed).
    /// </summary>
    public void WriteModelFilesAtStart(long step)
    {
        if (outputFolder is null || !writes) return;
        WriteModelFiles(LastCheckpoint is not null && step == options.MaxSteps ? Path.Combine(LastCheckpoint, TrainingCheckpoint.ModelFile) : null);
    }

    /// <summary>Saves after <paramref name="step"/> when the interval or the end says so.</summary>
    public void AfterStep(long step, long cursor)
    {
        if (outputFolder is not null && (step % options.CheckpointInterval == 0 || step == options.MaxSteps)) Save(step, cursor);
    }

    /// <summary>Saves at a stop (cancellation) unless this step is saved already.</summary>
    public void AtStop(long step, long cursor)
    {
        if (outputFolder is not null && _savedStep != step) Save(step, cursor);
    }

    private void Save(long step, long cursor)
    {
        if (!writes)
        {
            LastCheckpoint = TrainingCheckpoint.FolderOf(outputFolder!, step);
            return;
        }
        var state = new TrainingState(step, cursor, options.MaxSteps, options.Seed, combinedBatch, schedule.Factor(Math.Max(0, step - 1)), ImageSize: options.ImageSize, Data: dataFingerprint);
        var dir = TrainingCheckpoint.Save(outputFolder!, state, network, optimizer, (JsonObject)scheduleJson.DeepClone(), options.KeepCheckpoints);
        WriteModelFiles(Path.Combine(dir, TrainingCheckpoint.ModelFile));
        log.Write(new JsonObject { ["event"] = "checkpoint", ["step"] = step, ["folder"] = dir });
        _savedStep = step;
        LastCheckpoint = dir;
    }

    /// <summary>config.json, model.safetensors (copied from <paramref name="modelFrom"/>, if given) and labels.json at the top of the output folder, each replaced atomically.</summary>
    private void WriteModelFiles(string? modelFrom)
    {
        var output = outputFolder!;
        var config = network.Config.Categories is null ? Mask2FormerTrainer.WithDataCategories(network.Config, trainingSet) : network.Config;
        AtomicFile.WriteAllText(Path.Combine(output, TrainingCheckpoint.ConfigFile), config.ToJson());
        var labels = new JsonArray();
        foreach (var c in config.CategoriesOrDefault())
            labels.Add(new JsonObject { ["id"] = c.Id, ["name"] = c.Name, ["isthing"] = c.IsThing });
        AtomicFile.WriteAllText(Path.Combine(output, Mask2FormerConfig.LabelsFileName), new JsonObject { ["labels"] = labels }.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        if (modelFrom is not null)
        {
            AtomicFile.Write(Path.Combine(output, TrainingCheckpoint.ModelFile), s =>
            {
                using var source = File.OpenRead(modelFrom);
                source.CopyTo(s);
            });
        }
    }
}
