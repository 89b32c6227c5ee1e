using System.Text;

namespace Microsoft.ML.Mask2Former.Training.Checkpoints;

/// <summary>How a checkpoint's names and shapes matched a model's state dict.</summary>
public sealed class LoadReport
{
    internal LoadReport(IReadOnlyList<string> loaded, IReadOnlyList<string> missing, IReadOnlyList<string> unexpected, IReadOnlyList<ShapeMismatch> mismatches)
    {
        Loaded = loaded;
        Missing = missing;
        Unexpected = unexpected;
        ShapeMismatches = mismatches;
    }

    /// <summary>Names copied into the model.</summary>
    public IReadOnlyList<string> Loaded { get; }

    /// <summary>Names the model has and the checkpoint lacks.</summary>
    public IReadOnlyList<string> Missing { get; }

    /// <summary>Names the checkpoint has and the model lacks.</summary>
    public IReadOnlyList<string> Unexpected { get; }

    /// <summary>Names present in both with different shapes.</summary>
    public IReadOnlyList<ShapeMismatch> ShapeMismatches { get; }

    /// <summary>True when every name matched with its shape.</summary>
    public bool IsExact => Missing.Count == 0 && Unexpected.Count == 0 && ShapeMismatches.Count == 0;

    /// <summary>Every problem, one list per kind.</summary>
    public string Describe()
    {
        if (IsExact) return $"all {Loaded.Count} tensors match";
        var text = new StringBuilder();
        void List(string title, IEnumerable<string> items, int count)
        {
            if (count == 0) return;
            if (text.Length > 0) text.Append("; ");
            text.Append(count).Append(' ').Append(title).Append(": ").AppendJoin(", ", items);
        }
        List("missing", Missing, Missing.Count);
        List("unexpected", Unexpected, Unexpected.Count);
        List("shape mismatches", ShapeMismatches.Select(m => m.ToString()), ShapeMismatches.Count);
        return text.ToString();
    }

    /// <inheritdoc/>
    public override string ToString() => Describe();
}

/// <summary>A tensor whose shape in the checkpoint differs from the model's.</summary>
/// <param name="Name">The state-dict name.</param>
/// <param name="Expected">The model's shape.</param>
/// <param name="Found">The checkpoint's shape.</param>
public sealed record ShapeMismatch(string Name, IReadOnlyList<long> Expected, IReadOnlyList<long> Found)
{
    /// <inheritdoc/>
    public override string ToString() => $"{Name} (model [{string.Join(", ", Expected)}], checkpoint [{string.Join(", ", Found)}])";
}
