namespace Microsoft.ML.Mask2Former.Tuning;

/// <summary>
/// A hyper-parameter search space: named choices and numeric ranges (linear or log scale).
/// Produces the full grid or a seeded random sample; the same seed gives the same candidates.
/// </summary>
public sealed class SweepSpace
{
    private readonly List<(string Name, Func<Random, object> Sample, IReadOnlyList<object> Grid)> _parameters = new();

    /// <summary>Adds a parameter taking one of <paramref name="values"/>.</summary>
    public SweepSpace Choice<T>(string name, params T[] values) where T : notnull
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (values is null || values.Length == 0) throw new ArgumentException($"parameter '{name}' needs at least one value", nameof(values));
        var boxed = values.Cast<object>().ToArray();
        return Add(name, rng => boxed[rng.Next(boxed.Length)], boxed);
    }

    /// <summary>Adds a numeric parameter in [<paramref name="min"/>, <paramref name="max"/>]; the grid holds <paramref name="gridPoints"/> evenly spaced values (in log space when <paramref name="logScale"/>).</summary>
    public SweepSpace Range(string name, double min, double max, bool logScale = false, int gridPoints = 5)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (!double.IsFinite(min) || !double.IsFinite(max) || min > max)
            throw new ArgumentException($"parameter '{name}': need finite min ≤ max, got [{min}, {max}]");
        if (logScale && min <= 0) throw new ArgumentException($"parameter '{name}': a log-scale range must be positive, got min {min}");
        if (gridPoints < 1) throw new ArgumentOutOfRangeException(nameof(gridPoints), gridPoints, "at least one grid point");
        double At(double t) => logScale ? Math.Exp(Math.Log(min) + t * (Math.Log(max) - Math.Log(min))) : min + t * (max - min);
        var grid = Enumerable.Range(0, gridPoints).Select(i => (object)Round(At(gridPoints == 1 ? 0.5 : i / (double)(gridPoints - 1)))).ToArray();
        return Add(name, rng => Round(At(rng.NextDouble())), grid);
    }

    private SweepSpace Add(string name, Func<Random, object> sample, IReadOnlyList<object> grid)
    {
        if (_parameters.Any(p => p.Name == name)) throw new ArgumentException($"parameter '{name}' is already in the space", nameof(name));
        _parameters.Add((name, sample, grid));
        return this;
    }

    // Six significant digits: settings stay readable and identical across runs and platforms.
    private static double Round(double x) => double.Parse(x.ToString("G6", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);

    /// <summary>The number of grid points (product of the parameters' grid sizes).</summary>
    public long GridSize => _parameters.Aggregate(1L, (n, p) => checked(n * p.Grid.Count));

    /// <summary>Every combination of the parameters' grid values, the first parameter varying slowest.</summary>
    public IEnumerable<SweepSettings> Grid()
    {
        IEnumerable<IEnumerable<KeyValuePair<string, object>>> combos = [[]];
        foreach (var (name, _, grid) in _parameters)
        {
            var values = grid;
            combos = combos.SelectMany(c => values.Select(v => c.Append(KeyValuePair.Create(name, v))));
        }
        return combos.Select(c => new SweepSettings(c));
    }

    /// <summary><paramref name="count"/> distinct random settings drawn with <paramref name="seed"/> (fewer if the space is smaller).</summary>
    public IReadOnlyList<SweepSettings> Random(int count, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var rng = new Random(seed);
        var seen = new HashSet<SweepSettings>();
        var result = new List<SweepSettings>(count);
        for (var attempts = 0; result.Count < count && attempts < count * 50; attempts++)
        {
            var s = new SweepSettings(_parameters.Select(p => KeyValuePair.Create(p.Name, p.Sample(rng))));
            if (seen.Add(s)) result.Add(s);
        }
        return result;
    }
}
