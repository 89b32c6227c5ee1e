using System.Collections;

namespace Microsoft.ML.Mask2Former.Training.Checkpoints;

/// <summary>A Python <c>tuple</c> read from a pickle (immutable).</summary>
public sealed class PickleTuple : IReadOnlyList<object?>
{
    private readonly object?[] _items;

    internal PickleTuple(object?[] items) => _items = items;

    /// <summary>The empty tuple.</summary>
    internal static PickleTuple Empty { get; } = new(Array.Empty<object?>());

    /// <inheritdoc/>
    public object? this[int index] => _items[index];

    /// <inheritdoc/>
    public int Count => _items.Length;

    /// <inheritdoc/>
    public IEnumerator<object?> GetEnumerator() => ((IEnumerable<object?>)_items).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => _items.GetEnumerator();
}
