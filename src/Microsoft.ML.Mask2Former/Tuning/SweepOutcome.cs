using System.Text;

namespace Microsoft.ML.Mask2Former.Tuning;

/// <summary>
/// The results of a sweep and their ranking: each candidate counts with its result at the
/// largest budget it reached (candidates that went further rank first), then by metric, failed
/// trials last, ties by trial number. Immutable.
/// </summary>
public sealed class SweepOutcome
{
    internal SweepOutcome(string name, IReadOnlyList<SweepResult> results, bool higherIsBetter)
    {
        Name = name;
        Results = results;
        HigherIsBetter = higherIsBetter;
        Ranked = results.GroupBy(r => r.Settings.Key)
            .Select(g => g.OrderByDescending(r => r.Budget).First())
            .OrderByDescending(r => r.Budget)
            .ThenBy(r => r, Comparer(higherIsBetter))
            .ToList();
    }

    /// <summary>The sweep's name.</summary>
    public string Name { get; }

    /// <summary>Every trial, in the order they ran.</summary>
    public IReadOnlyList<SweepResult> Results { get; }

    /// <summary>Whether larger metrics rank first.</summary>
    public bool HigherIsBetter { get; }

    /// <summary>One entry per candidate, best first.</summary>
    public IReadOnlyList<SweepResult> Ranked { get; }

    /// <summary>The best candidate's result.</summary>
    public SweepResult Best => Ranked[0];

    internal static IEnumerable<SweepResult> Rank(IEnumerable<SweepResult> results, bool higherIsBetter) =>
        results.OrderBy(r => r, Comparer(higherIsBetter));

    private static Comparer<SweepResult> Comparer(bool higherIsBetter) => Comparer<SweepResult>.Create((a, b) =>
    {
        if (a.Succeeded != b.Succeeded) return a.Succeeded ? -1 : 1;
        if (a.Succeeded && a.Metric != b.Metric) return higherIsBetter ? b.Metric.CompareTo(a.Metric) : a.Metric.CompareTo(b.Metric);
        return a.Trial.CompareTo(b.Trial);
    });

    private IReadOnlyList<string> ParameterNames => Ranked.SelectMany(r => r.Settings.Names).Distinct().ToList();

    /// <summary>The ranking as a Markdown table (rank, each parameter, budget, metric, seconds, error).</summary>
    public string ToMarkdown(string metricName = "metric", int decimals = 4)
    {
        var names = ParameterNames;
        var sb = new StringBuilder();
        sb.Append("| rank | ").Append(string.Join(" | ", names)).Append($" | budget | {metricName} | seconds | note |\n");
        sb.Append("| ---: |").Append(string.Concat(names.Select(_ => " --- |"))).Append(" ---: | ---: | ---: | --- |\n");
        for (var i = 0; i < Ranked.Count; i++)
        {
            var r = Ranked[i];
            sb.Append($"| {i + 1} | ").Append(string.Join(" | ", names.Select(n => r.Settings.Names.Contains(n) ? r.Settings[n] : "")))
              .Append($" | {r.Budget} | {(r.Succeeded ? r.Metric.ToString("F" + decimals, CultureInfo.InvariantCulture) : "failed")} | ")
              .Append(r.Seconds.ToString("F1", CultureInfo.InvariantCulture)).Append(" | ")
              .Append((r.Error ?? "").Replace("|", "\\|", StringComparison.Ordinal)).Append(" |\n");
        }
        return sb.ToString();
    }

    /// <summary>The ranking as CSV (RFC 4180 quoting), one row per candidate.</summary>
    public string ToCsv(string metricName = "metric")
    {
        var names = ParameterNames;
        var sb = new StringBuilder();
        sb.AppendJoin(',', new[] { "rank" }.Concat(names).Concat(["budget", metricName, "seconds", "trial", "error"]).Select(Quote)).Append('\n');
        for (var i = 0; i < Ranked.Count; i++)
        {
            var r = Ranked[i];
            var cells = new List<string> { (i + 1).ToString(CultureInfo.InvariantCulture) };
            cells.AddRange(names.Select(n => r.Settings.Names.Contains(n) ? r.Settings[n] : ""));
            cells.Add(r.Budget.ToString(CultureInfo.InvariantCulture));
            cells.Add(r.Succeeded ? r.Metric.ToString("R", CultureInfo.InvariantCulture) : "");
            cells.Add(r.Seconds.ToString("F3", CultureInfo.InvariantCulture));
            cells.Add(r.Trial.ToString(CultureInfo.InvariantCulture));
            cells.Add(r.Error ?? "");
            sb.AppendJoin(',', cells.Select(Quote)).Append('\n');
        }
        return sb.ToString();
    }

    private static string Quote(string s) =>
        s.IndexOfAny([',', '"', '\n', '\r']) < 0 ? s : "\"" + s.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    /// <summary>Writes <c>&lt;name&gt;.md</c> (title, best settings, table) and <c>&lt;name&gt;.csv</c> into <paramref name="folder"/>, atomically; returns their paths.</summary>
    public (string Markdown, string Csv) Save(string folder, string metricName = "metric")
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        var md = Path.Combine(folder, Name + ".md");
        var csv = Path.Combine(folder, Name + ".csv");
        var best = Best;
        var text = new StringBuilder()
            .Append($"# {Name}\n\n")
            .Append($"{Ranked.Count} candidates, {Results.Count} trials; {(HigherIsBetter ? "higher" : "lower")} {metricName} is better.\n\n")
            .Append(best.Succeeded ? $"Best: `{best.Settings.Key}` with {metricName} {best.Metric.ToString("R", CultureInfo.InvariantCulture)} at budget {best.Budget}.\n\n" : "Every trial failed.\n\n")
            .Append(ToMarkdown(metricName))
            .ToString();
        AtomicFile.WriteAllText(md, text);
        AtomicFile.WriteAllText(csv, ToCsv(metricName));
        return (md, csv);
    }
}
