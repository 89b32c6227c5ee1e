namespace Microsoft.ML.Mask2Former.Training.Checkpoints;

/// <summary>
/// A Python <c>dict</c> or <c>collections.OrderedDict</c> read from a pickle, in insertion order.
/// Keys are plain values (strings, integers, floats, booleans, <see langword="null"/>); values
/// are whatever <see cref="PthFile"/> allows (plain values, containers, <see cref="PthTensorInfo"/>).
/// </summary>
public sealed class PickleDict
{
    private readonly List<KeyValuePair<object?, object?>> _items = new();
    private readonly Dictionary<object, int> _index = new();
    private int _nullKey = -1;

    /// <summary>The entries in insertion order (a key set twice keeps its first place and its last value, as in Python).</summary>
    public IReadOnlyList<KeyValuePair<object?, object?>> Items => _items;

    /// <summary>Number of entries.</summary>
    public int Count => _items.Count;

    /// <summary>Attributes set on the object by the pickle (an <c>OrderedDict</c> state dict's <c>_metadata</c>, for one).</summary>
    public IReadOnlyDictionary<string, object?> Attributes => _attributes;

    private readonly Dictionary<string, object?> _attributes = new(StringComparer.Ordinal);

    /// <summary>The value stored under a string key, or <see langword="false"/>.</summary>
    public bool TryGetValue(string key, out object? value)
    {
        if (_index.TryGetValue(key, out var i))
        {
            value = _items[i].Value;
            return true;
        }
        value = null;
        return false;
    }

    /// <summary>Whether a string key is present.</summary>
    public bool ContainsKey(string key) => _index.ContainsKey(key);

    internal void Set(object? key, object? value)
    {
        if (key is null)
        {
            if (_nullKey >= 0) _items[_nullKey] = new(null, value);
            else
            {
                _nullKey = _items.Count;
                _items.Add(new(null, value));
            }
            return;
        }
        if (_index.TryGetValue(key, out var i))
        {
            _items[i] = new(key, value);
            return;
        }
        _index[key] = _items.Count;
        _items.Add(new(key, value));
    }

    internal void SetAttribute(string name, object? value) => _attributes[name] = value;
}
