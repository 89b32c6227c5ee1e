using Microsoft.ML.Mask2Former.Formats;
using Microsoft.ML.Mask2Former.Tuning;

namespace Microsoft.ML.Mask2Former.Tests.Tuning;

[TestClass]
public sealed class SweepTests
{
    // A known landscape: quality peaks at lr = 1e-3, queries = 20; a larger budget adds up to 0.1.
    private static double Quality(SweepSettings s) =>
        1 - Math.Abs(Math.Log10(s.GetDouble("lr")) + 3) / 4 - Math.Abs(s.GetInt32("queries") - 20) / 100.0;

    private static double Objective(SweepSettings s, int budget) => Quality(s) + 0.1 * (1 - 1.0 / budget);

    private static SweepSpace Space() => new SweepSpace()
        .Range("lr", 1e-5, 1e-1, logScale: true, gridPoints: 5)
        .Choice("queries", 10, 20, 50);

    [TestMethod]
    public void GridEnumeratesEveryCombinationFirstParameterSlowest()
    {
        var grid = Space().Grid().ToList();
        Assert.AreEqual(15, grid.Count);
        Assert.AreEqual(15L, Space().GridSize);
        Assert.AreEqual("lr=1E-05, queries=10", grid[0].Key);
        Assert.AreEqual("lr=1E-05, queries=20", grid[1].Key);
        Assert.AreEqual("lr=0.0001, queries=10", grid[3].Key);
        Assert.AreEqual("lr=0.1, queries=50", grid[14].Key);
        Assert.AreEqual(15, grid.Distinct().Count());
    }

    [TestMethod]
    public void RandomSamplesAreSeededDistinctAndInRange()
    {
        var a = Space().Random(12, seed: 5);
        var b = Space().Random(12, seed: 5);
        var c = Space().Random(12, seed: 6);
        CollectionAssert.AreEqual(a.Select(s => s.Key).ToList(), b.Select(s => s.Key).ToList());
        CollectionAssert.AreNotEqual(a.Select(s => s.Key).ToList(), c.Select(s => s.Key).ToList());
        Assert.AreEqual(12, a.Distinct().Count());
        foreach (var s in a)
        {
            Assert.IsTrue(s.GetDouble("lr") is >= 1e-5 and <= 1e-1, s.Key);
            Assert.IsTrue(s["queries"] is "10" or "20" or "50", s.Key);
        }
        var small = new SweepSpace().Choice("x", "a", "b").Random(10, seed: 1);
        Assert.AreEqual(2, small.Count, "no more samples than the space holds");
    }

    [TestMethod]
    public void SettingsRoundTripThroughTheirKey()
    {
        var s = new SweepSettings([KeyValuePair.Create("b", (object)0.1), KeyValuePair.Create("a", (object)"x y")]);
        Assert.AreEqual("a=x y, b=0.1", s.Key);
        Assert.AreEqual(s, SweepSettings.Parse(s.Key));
        Assert.AreEqual(0.1, SweepSettings.Parse(s.Key).GetDouble("b"));
        var e = Assert.ThrowsExactly<KeyNotFoundException>(() => s["c"]);
        StringAssert.Contains(e.Message, "a, b");
    }

    [TestMethod]
    public void GridSweepRanksBestFirstAndFailuresLast()
    {
        var runner = new SweepRunner((s, budget, _) =>
        {
            if (s.GetInt32("queries") == 50 && s.GetDouble("lr") > 0.01) throw new InvalidOperationException("diverged, loss NaN");
            return Objective(s, budget);
        });
        var outcome = runner.Run(Space().Grid().ToList());
        Assert.AreEqual(15, outcome.Results.Count);
        Assert.AreEqual("lr=0.001, queries=20", outcome.Best.Settings.Key);
        Assert.AreEqual(1.0, outcome.Best.Metric, 1e-12);
        Assert.IsFalse(outcome.Ranked[^1].Succeeded);
        StringAssert.Contains(outcome.Ranked[^1].Error, "diverged");
        for (var i = 1; i < outcome.Ranked.Count; i++)
        {
            if (!outcome.Ranked[i].Succeeded) continue;
            Assert.IsGreaterThanOrEqualTo(outcome.Ranked[i].Metric, outcome.Ranked[i - 1].Metric);
        }
    }

    [TestMethod]
    public void LowerIsBetterReversesTheRanking()
    {
        var runner = new SweepRunner((s, _, _) => -Quality(s), new SweepRunnerOptions { HigherIsBetter = false });
        Assert.AreEqual("lr=0.001, queries=20", runner.Run(Space().Grid().ToList()).Best.Settings.Key);
    }

    [TestMethod]
    public void SuccessiveHalvingKeepsTheTopThirdAtEachRung()
    {
        var calls = new List<(string Key, int Budget)>();
        var runner = new SweepRunner((s, budget, _) => { calls.Add((s.Key, budget)); return Objective(s, budget); });
        var candidates = Space().Grid().Take(9).ToList();
        var outcome = runner.RunSuccessiveHalving(candidates, minBudget: 1, maxBudget: 9, eta: 3);

        Assert.AreEqual(9 + 3 + 1, calls.Count);
        CollectionAssert.AreEqual(new[] { 1, 3, 9 }, calls.Select(c => c.Budget).Distinct().ToArray());
        var expectedSurvivors = candidates.OrderByDescending(Quality).Take(3).Select(s => s.Key).Order().ToList();
        CollectionAssert.AreEqual(expectedSurvivors, calls.Where(c => c.Budget == 3).Select(c => c.Key).Order().ToList());
        Assert.AreEqual(candidates.OrderByDescending(Quality).First().Key, outcome.Best.Settings.Key);
        Assert.AreEqual(9, outcome.Best.Budget);
        Assert.AreEqual(9, outcome.Ranked.Count, "one row per candidate");
        Assert.AreEqual(3, outcome.Ranked[1].Budget, "candidates that went further rank first");
    }

    [TestMethod]
    public void AnInterruptedSweepResumesFromItsJournalAndEndsTheSame()
    {
        var folder = TestPaths.NewTempFolder();
        var journal = Path.Combine(folder, "sweep.jsonl");
        var candidates = Space().Grid().Take(9).ToList();
        var options = new SweepRunnerOptions { Name = "toy", JournalPath = journal };

        var uninterrupted = new SweepRunner((s, b, _) => Objective(s, b)).RunSuccessiveHalving(candidates, 1, 9);

        using var cts = new CancellationTokenSource();
        var first = 0;
        var runner = new SweepRunner((s, b, token) =>
        {
            if (++first == 6) { cts.Cancel(); token.ThrowIfCancellationRequested(); }
            return Objective(s, b);
        }, options);
        Assert.ThrowsExactly<OperationCanceledException>(() => runner.RunSuccessiveHalving(candidates, 1, 9, cancellation: cts.Token));

        var second = 0;
        var resumed = new SweepRunner((s, b, _) => { second++; return Objective(s, b); }, options).RunSuccessiveHalving(candidates, 1, 9);
        Assert.AreEqual(13 - 5, second, "the five recorded trials are not run again");
        CollectionAssert.AreEqual(uninterrupted.Ranked.Select(r => (r.Settings.Key, r.Budget, r.Metric)).ToList(),
            resumed.Ranked.Select(r => (r.Settings.Key, r.Budget, r.Metric)).ToList());
        Assert.AreEqual(13, resumed.Results.Select(r => r.Trial).Distinct().Count(), "trial numbers continue after the journal's");
    }

    [TestMethod]
    public void AJournalRefusesToResumeOnOtherInputsNamingWhatDiffers()
    {
        var path = Path.Combine(TestPaths.NewTempFolder(), "journal.jsonl");
        var identity = new Dictionary<string, string> { ["model_sha256"] = "aaa", ["data_sha256"] = "bbb" };
        var runner = new SweepRunner((s, b, _) => Objective(s, b), new SweepRunnerOptions { Name = "toy", JournalPath = path, Identity = identity });
        runner.Run(Space().Grid().Take(2).ToArray());
        StringAssert.Contains(File.ReadLines(path).First(), "\"model_sha256\":\"aaa\"");

        // The same inputs resume; another model, a missing identity or an extra entry do not.
        Assert.HasCount(2, SweepJournal.Open(path, "toy", new Dictionary<string, string>(identity)).Results);
        var other = Assert.ThrowsExactly<DataFormatException>(() => SweepJournal.Open(path, "toy", new Dictionary<string, string>(identity) { ["model_sha256"] = "ccc" }));
        StringAssert.Contains(other.Message, "model_sha256 aaa here, ccc now");
        Assert.DoesNotContain("data_sha256", other.Message);
        StringAssert.Contains(Assert.ThrowsExactly<DataFormatException>(() => SweepJournal.Open(path, "toy")).Message, "model_sha256 aaa here, (none) now");
        var extra = new Dictionary<string, string>(identity) { ["input_size"] = "64x64" };
        StringAssert.Contains(Assert.ThrowsExactly<DataFormatException>(() => SweepJournal.Open(path, "toy", extra)).Message, "input_size (not recorded) here, 64x64 now");
    }

    [TestMethod]
    public void JournalDropsATornLastLineButRefusesDamageOrAnotherSweep()
    {
        var folder = TestPaths.NewTempFolder();
        var path = Path.Combine(folder, "j.jsonl");
        var runner = new SweepRunner((s, b, _) => Objective(s, b), new SweepRunnerOptions { Name = "toy", JournalPath = path });
        runner.Run(Space().Grid().Take(2).ToList());
        File.AppendAllText(path, "{\"trial\":3,\"settings\":\"lr=0.1, qu");
        var reopened = SweepJournal.Open(path, "toy");
        Assert.AreEqual(2, reopened.Results.Count);
        Assert.IsTrue(File.ReadAllText(path).EndsWith('\n'), "the torn tail is cut off");

        var other = Assert.ThrowsExactly<DataFormatException>(() => SweepJournal.Open(path, "another"));
        StringAssert.Contains(other.Message, "'toy'");

        var lines = File.ReadAllLines(path);
        lines[1] = "not json";
        File.WriteAllLines(path, lines);
        var damaged = Assert.ThrowsExactly<DataFormatException>(() => SweepJournal.Open(path, "toy"));
        StringAssert.Contains(damaged.Message, "line 2");
        StringAssert.Contains(damaged.Message, "j.jsonl");
    }

    [TestMethod]
    public void ReportsAreMarkdownAndCsvWithTheBestSettings()
    {
        var runner = new SweepRunner((s, _, _) => s["queries"] == "50" ? throw new ArgumentException("bad, really") : Quality(s),
            new SweepRunnerOptions { Name = "thresholds" });
        var outcome = runner.Run(Space().Grid().ToList());
        var (md, csv) = outcome.Save(TestPaths.NewTempFolder(), "PQ");
        var text = File.ReadAllText(md);
        StringAssert.Contains(text, "Best: `lr=0.001, queries=20` with PQ 1");
        StringAssert.Contains(text, "| 1 | 0.001 | 20 | 1 | 1.0000 |");
        var rows = File.ReadAllLines(csv);
        Assert.AreEqual(16, rows.Length);
        Assert.AreEqual("rank,lr,queries,budget,PQ,seconds,trial,error", rows[0]);
        StringAssert.EndsWith(rows[^1], "\"ArgumentException: bad, really\"");
    }
}
