using System.Text;

namespace Microsoft.ML.Mask2Former.Tuning;

/// <summary>
/// An append-only record of finished trials (JSON lines), so an interrupted sweep resumes where
/// it stopped: a trial whose settings and budget are in the journal is not run again. The first
/// line names the sweep and what its results belong to (<see cref="SweepRunnerOptions.Identity"/>);
/// resuming a different sweep, or the same one on another model or data set, into the same file is
/// refused. A last line cut short by a crash is dropped; damage anywhere else is an error naming the line.
/// </summary>
public sealed class SweepJournal
{
    private readonly string _path;
    private readonly Dictionary<(string Key, int Budget), SweepResult> _done = new();
    private readonly object _gate = new();

    private SweepJournal(string path, string sweepName)
    {
        _path = path;
        SweepName = sweepName;
    }

    /// <summary>The name written on the journal's first line.</summary>
    public string SweepName { get; }

    /// <summary>The trials recorded so far, in the order they finished.</summary>
    public IReadOnlyList<SweepResult> Results
    {
        get
        {
            lock (_gate) return _done.Values.OrderBy(r => r.Trial).ToList();
        }
    }

    /// <summary>Opens (or creates) the journal at <paramref name="path"/> for the sweep <paramref name="sweepName"/>.</summary>
    /// <param name="path">The journal file.</param>
    /// <param name="sweepName">The sweep's name.</param>
    /// <param name="identity">What the results belong to (see <see cref="SweepRunnerOptions.Identity"/>); <see langword="null"/> for nothing.</param>
    /// <exception cref="DataFormatException">The file belongs to another sweep, records another identity, or a line other than the last is damaged.</exception>
    public static SweepJournal Open(string path, string sweepName, IReadOnlyDictionary<string, string>? identity = null)
    {
        identity ??= new Dictionary<string, string>();
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentException.ThrowIfNullOrEmpty(sweepName);
        var journal = new SweepJournal(Path.GetFullPath(path), sweepName);
        if (!File.Exists(path))
        {
            Directory.CreateDirectory(Path.GetDirectoryName(journal._path)!);
            var header = identity.Count == 0
                ? JsonSerializer.Serialize(new { sweep = sweepName })
                : JsonSerializer.Serialize(new { sweep = sweepName, identity = new SortedDictionary<string, string>(identity.ToDictionary(), StringComparer.Ordinal) });
            AtomicFile.WriteAllText(journal._path, header + "\n");
            return journal;
        }
        var text = File.ReadAllText(path);
        var lines = text.Split('\n');
        var torn = !text.EndsWith('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            if (lines[i].Length == 0) continue;
            try
            {
                using var doc = JsonDocument.Parse(lines[i]);
                var root = doc.RootElement;
                if (i == 0)
                {
                    var name = root.GetProperty("sweep").GetString();
                    if (name != sweepName)
                        throw new DataFormatException($"the journal belongs to sweep '{name}', not '{sweepName}': use another file or the same sweep", path);
                    CheckIdentity(root, identity, path);
                    continue;
                }
                var result = new SweepResult(
                    root.GetProperty("trial").GetInt32(),
                    SweepSettings.Parse(root.GetProperty("settings").GetString()!),
                    root.GetProperty("budget").GetInt32(),
                    root.GetProperty("metric").ValueKind == JsonValueKind.Null ? double.NaN : root.GetProperty("metric").GetDouble(),
                    root.GetProperty("seconds").GetDouble(),
                    root.TryGetProperty("error", out var e) && e.ValueKind == JsonValueKind.String ? e.GetString() : null);
                journal._done[(result.Settings.Key, result.Budget)] = result;
            }
            catch (Exception e) when (e is not DataFormatException && e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
            {
                if (torn && i == lines.Length - 1) continue; // the last line, cut short by a crash mid-append
                throw new DataFormatException($"line {i + 1} is not a journal entry: {e.Message}", path, inner: e);
            }
        }
        if (torn)
        {
            // Drop the torn tail so the next append starts on a fresh line.
            var keep = text[..(text.LastIndexOf('\n') + 1)];
            AtomicFile.WriteAllText(journal._path, keep);
        }
        return journal;
    }

    private static void CheckIdentity(JsonElement header, IReadOnlyDictionary<string, string> identity, string path)
    {
        var recorded = new Dictionary<string, string>(StringComparer.Ordinal);
        if (header.TryGetProperty("identity", out var element))
        {
            foreach (var item in element.EnumerateObject()) recorded[item.Name] = item.Value.GetString() ?? "";
        }
        var differences = recorded.Keys.Union(identity.Keys).Order(StringComparer.Ordinal)
            .Where(k => recorded.GetValueOrDefault(k) != identity.GetValueOrDefault(k))
            .Select(k => $"{k} {recorded.GetValueOrDefault(k) ?? "(not recorded)"} here, {identity.GetValueOrDefault(k) ?? "(none)"} now")
            .ToList();
        if (differences.Count > 0)
            throw new DataFormatException($"the journal's results belong to another sweep input ({string.Join("; ", differences)}): " +
                "use another journal (output folder) for these inputs, or delete this one to start over", path);
    }

    /// <summary>The recorded result of <paramref name="settings"/> at <paramref name="budget"/>, if any.</summary>
    public bool TryGet(SweepSettings settings, int budget, out SweepResult result)
    {
        ArgumentNullException.ThrowIfNull(settings);
        lock (_gate) return _done.TryGetValue((settings.Key, budget), out result!);
    }

    /// <summary>Records a finished trial (one line, appended and flushed to disk).</summary>
    public void Append(SweepResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var line = JsonSerializer.Serialize(new
        {
            trial = result.Trial,
            settings = result.Settings.Key,
            budget = result.Budget,
            metric = double.IsFinite(result.Metric) ? result.Metric : (double?)null,
            seconds = result.Seconds,
            error = result.Error,
        }) + "\n";
        lock (_gate)
        {
            using (var stream = new FileStream(_path, FileMode.Append, FileAccess.Write, FileShare.Read))
            {
                stream.Write(Encoding.UTF8.GetBytes(line));
                stream.Flush(flushToDisk: true);
            }
            _done[(result.Settings.Key, result.Budget)] = result;
        }
    }
}
