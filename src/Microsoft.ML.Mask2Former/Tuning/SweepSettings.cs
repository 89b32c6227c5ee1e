namespace Microsoft.ML.Mask2Former.Tuning;

/// <summary>
/// One point of a search space: parameter name → value, kept as invariant text so that a
/// setting prints, sorts and round-trips through a journal exactly. Immutable.
/// </summary>
public sealed class SweepSettings : IEquatable<SweepSettings>
{
    private readonly SortedDictionary<string, string> _values;

    /// <summary>Creates settings from name/value pairs (numbers are formatted invariantly, shortest round-trip form).</summary>
    public SweepSettings(IEnumerable<KeyValuePair<string, object>> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        _values = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in values)
        {
            ArgumentException.ThrowIfNullOrEmpty(name);
            if (!_values.TryAdd(name, Format(value))) throw new ArgumentException($"parameter '{name}' is given twice", nameof(values));
        }
        Key = string.Join(", ", _values.Select(p => $"{p.Key}={p.Value}"));
    }

    /// <summary>The settings as one line, <c>name=value, ...</c> in name order; equal settings have equal keys.</summary>
    public string Key { get; }

    /// <summary>The parameter names, in order.</summary>
    public IReadOnlyCollection<string> Names => _values.Keys;

    /// <summary>The value of <paramref name="name"/> as text.</summary>
    public string this[string name] => _values.TryGetValue(name, out var v) ? v
        : throw new KeyNotFoundException($"the sweep has no parameter '{name}' (it has {string.Join(", ", _values.Keys)})");

    /// <summary>The value of <paramref name="name"/> as a number.</summary>
    public double GetDouble(string name) => double.Parse(this[name], NumberStyles.Float, CultureInfo.InvariantCulture);

    /// <summary>The value of <paramref name="name"/> as an integer (it must be one).</summary>
    public int GetInt32(string name) => int.Parse(this[name], NumberStyles.Integer, CultureInfo.InvariantCulture);

    /// <summary>Parses a <see cref="Key"/> back into settings.</summary>
    public static SweepSettings Parse(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (key.Length == 0) return new SweepSettings([]);
        return new SweepSettings(key.Split(", ").Select(part =>
        {
            var eq = part.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0) throw new FormatException($"'{part}' in '{key}' is not name=value");
            return KeyValuePair.Create(part[..eq], (object)part[(eq + 1)..]);
        }));
    }

    internal static string Format(object value) => value switch
    {
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        float f => f.ToString("R", CultureInfo.InvariantCulture),
        IFormattable x => x.ToString(null, CultureInfo.InvariantCulture),
        null => throw new ArgumentNullException(nameof(value)),
        _ => value.ToString() ?? throw new ArgumentException("a value formats to null", nameof(value)),
    };

    /// <inheritdoc/>
    public bool Equals(SweepSettings? other) => other is not null && Key == other.Key;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as SweepSettings);

    /// <inheritdoc/>
    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Key);

    /// <inheritdoc/>
    public override string ToString() => Key;
}
