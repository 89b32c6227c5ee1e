using System.Globalization;

namespace Microsoft.ML.Mask2Former.Training.Distributed;

/// <summary>
/// The check every rank makes before a data-parallel run trains: that all ranks see the same
/// checkpoint to resume from, the same data set size and run the same settings and network. A
/// difference (a rank on a machine whose output folder is not the shared one, a different data
/// folder or command line) stops every rank with one message naming the setting and the ranks'
/// values, instead of training on diverging copies or waiting forever.
/// </summary>
internal static class RunAgreement
{
    /// <summary>Gathers every rank's <paramref name="values"/> and throws (on every rank) when any differs from rank 0's.</summary>
    /// <param name="world">The job.</param>
    /// <param name="values">Named numbers (exact as doubles: integers below 2^53).</param>
    /// <param name="hint">Appended to the message, e.g. what a mismatch usually means.</param>
    public static void Check(MpiWorld world, IReadOnlyList<(string Name, double Value)> values, string hint)
    {
        var n = values.Count;
        // Each rank fills its own row; the sum of the rows is everyone's values.
        var table = new double[world.Size * n];
        for (var k = 0; k < n; k++) table[world.Rank * n + k] = values[k].Value;
        world.SumInPlace(table);
        var differences = new List<string>();
        for (var k = 0; k < n; k++)
        {
            var column = Enumerable.Range(0, world.Size).Select(r => table[r * n + k]).ToArray();
            if (column.Any(v => v != column[0]))
                differences.Add($"{values[k].Name}: {string.Join(", ", column.Select((v, r) => string.Create(CultureInfo.InvariantCulture, $"rank {r} {v}")))}");
        }
        if (differences.Count > 0)
            throw CollectiveFailure.Mark(new ArgumentException($"the {world.Size} ranks of the MPI job disagree ({string.Join("; ", differences)}); {hint}"));
    }

    /// <summary>The step of a checkpoint folder named <c>step-NNNNNNNN</c>, or −1 for none.</summary>
    public static double CheckpointStep(string? folder) =>
        folder is not null && Path.GetFileName(folder) is { } name && name.StartsWith("step-", StringComparison.Ordinal)
            && long.TryParse(name.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out var step) ? step : -1;
}
