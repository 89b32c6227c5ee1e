using System.Diagnostics;

namespace Microsoft.ML.Mask2Former.Tuning;

/// <summary>
/// Runs an objective over candidate settings: every candidate at one budget (grid or random
/// search), or successive halving (all candidates at a small budget, the best 1/η continue at η
/// times the budget, until the full budget). Trials run one at a time in a fixed order, so a
/// sweep is deterministic when its objective is; with a journal, a rerun skips every trial
/// already recorded. A trial that throws is recorded as failed (NaN) and ranked last; the sweep
/// goes on. Cancellation stops between trials and propagates.
/// </summary>
public sealed class SweepRunner
{
    private readonly Func<SweepSettings, int, CancellationToken, double> _objective;
    private readonly SweepRunnerOptions _options;
    private readonly SweepJournal? _journal;
    private int _trials;

    /// <summary>Creates a runner for <paramref name="objective"/> (settings, budget, cancellation → metric).</summary>
    public SweepRunner(Func<SweepSettings, int, CancellationToken, double> objective, SweepRunnerOptions? options = null)
    {
        _objective = objective ?? throw new ArgumentNullException(nameof(objective));
        _options = options ?? new SweepRunnerOptions();
        _journal = _options.JournalPath is { } path ? SweepJournal.Open(path, _options.Name, _options.Identity) : null;
        _trials = _journal?.Results.Select(r => r.Trial).DefaultIfEmpty(0).Max() ?? 0;
    }

    /// <summary>Evaluates every candidate at <paramref name="budget"/>.</summary>
    public SweepOutcome Run(IReadOnlyList<SweepSettings> candidates, int budget = 1, CancellationToken cancellation = default)
    {
        Validate(candidates);
        ArgumentOutOfRangeException.ThrowIfLessThan(budget, 1);
        var results = candidates.Select(c => Trial(c, budget, cancellation)).ToList();
        return new SweepOutcome(_options.Name, results, _options.HigherIsBetter);
    }

    /// <summary>
    /// Successive halving from <paramref name="minBudget"/> to <paramref name="maxBudget"/>: each rung
    /// keeps the best ⌈n/η⌉ candidates and multiplies the budget by η (the last rung runs at exactly
    /// <paramref name="maxBudget"/>).
    /// </summary>
    public SweepOutcome RunSuccessiveHalving(IReadOnlyList<SweepSettings> candidates, int minBudget, int maxBudget, double eta = 3,
        CancellationToken cancellation = default)
    {
        Validate(candidates);
        ArgumentOutOfRangeException.ThrowIfLessThan(minBudget, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBudget, minBudget);
        if (!(eta > 1)) throw new ArgumentOutOfRangeException(nameof(eta), eta, "η must be greater than 1");
        var all = new List<SweepResult>();
        var survivors = candidates.ToList();
        var budget = minBudget;
        while (true)
        {
            var rung = survivors.Select(c => Trial(c, budget, cancellation)).ToList();
            all.AddRange(rung);
            if (budget >= maxBudget || survivors.Count == 1) break;
            var keep = Math.Max(1, (int)Math.Ceiling(survivors.Count / eta));
            survivors = SweepOutcome.Rank(rung, _options.HigherIsBetter).Take(keep).Select(r => r.Settings).ToList();
            budget = (int)Math.Min(maxBudget, Math.Max(budget + 1, Math.Round(budget * eta)));
        }
        return new SweepOutcome(_options.Name, all, _options.HigherIsBetter);
    }

    private static void Validate(IReadOnlyList<SweepSettings> candidates)
    {
        ArgumentNullException.ThrowIfNull(candidates);
        if (candidates.Count == 0) throw new ArgumentException("a sweep needs at least one candidate", nameof(candidates));
        var duplicate = candidates.GroupBy(c => c.Key).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw new ArgumentException($"the candidate '{duplicate.Key}' is listed twice", nameof(candidates));
    }

    private SweepResult Trial(SweepSettings settings, int budget, CancellationToken cancellation)
    {
        cancellation.ThrowIfCancellationRequested();
        if (_journal is not null && _journal.TryGet(settings, budget, out var recorded))
        {
            _options.Progress?.Report(recorded);
            return recorded;
        }
        var number = ++_trials;
        var watch = Stopwatch.StartNew();
        SweepResult result;
        try
        {
            var metric = _objective(settings, budget, cancellation);
            result = double.IsFinite(metric)
                ? new SweepResult(number, settings, budget, metric, watch.Elapsed.TotalSeconds)
                : new SweepResult(number, settings, budget, double.NaN, watch.Elapsed.TotalSeconds, $"the objective returned {metric}");
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception e)
        {
            result = new SweepResult(number, settings, budget, double.NaN, watch.Elapsed.TotalSeconds, $"{e.GetType().Name}: {e.Message.ReplaceLineEndings(" ")}");
        }
        _journal?.Append(result);
        _options.Progress?.Report(result);
        return result;
    }
}
