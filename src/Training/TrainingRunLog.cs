using System.Collections.Concurrent;
using System.Text.Json.Nodes;

namespace Microsoft.ML.Mask2Former.Training;

/// <summary>
/// A training run's <c>log.jsonl</c> (one JSON object a line, flushed as written; none when the
/// run has no output folder or is not the writing rank) and its warnings, which go to the log,
/// to <see cref="Mask2FormerTrainerOptions.Warning"/> and to the result.
/// </summary>
internal sealed class TrainingRunLog : IDisposable
{
    private readonly StreamWriter? _writer;
    private readonly ConcurrentQueue<string> _pending;
    private readonly Action<string>? _warning;

    public TrainingRunLog(string? outputFolder, IEnumerable<string> earlierWarnings, Action<string>? warning)
    {
        _writer = outputFolder is null ? null : new StreamWriter(Path.Combine(outputFolder, "log.jsonl"), append: true, new System.Text.UTF8Encoding(false));
        _pending = new ConcurrentQueue<string>(earlierWarnings);
        _warning = warning;
    }

    /// <summary>Every warning reported so far.</summary>
    public List<string> Warnings { get; } = [];

    public void Write(JsonObject entry)
    {
        if (_writer is null) return;
        _writer.WriteLine(entry.ToJsonString());
        _writer.Flush();
    }

    /// <summary>Queues a warning; it is reported at the next <see cref="DrainWarnings"/>.</summary>
    public void Warn(string warning) => _pending.Enqueue(warning);

    public void DrainWarnings()
    {
        while (_pending.TryDequeue(out var w))
        {
            Warnings.Add(w);
            Write(new JsonObject { ["warning"] = w });
            _warning?.Invoke(w);
        }
    }

    public void Report(TrainingProgress p)
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
        Write(o);
    }

    /// <summary>The exception for a diverged step, logged; it names the last good checkpoint.</summary>
    public TrainingDivergedException Diverged(long step, string what, string? lastCheckpoint)
    {
        var message = $"Training diverged at step {step}: {what}. The weights were not updated" +
            (lastCheckpoint is null ? " and no checkpoint had been written." : $"; the last good checkpoint is '{lastCheckpoint}' (resume from it, e.g. with a lower learning rate).");
        Write(new JsonObject { ["event"] = "diverged", ["step"] = step, ["message"] = message });
        return new TrainingDivergedException(message, step, lastCheckpoint);
    }

    public void Dispose() => _writer?.Dispose();
}
