namespace Microsoft.ML.Mask2Former.Training.Losses;

/// <summary>
/// The losses of one batch: every unweighted term by name (<c>loss_ce</c>, <c>loss_mask</c>,
/// <c>loss_dice</c>, then the auxiliary ones suffixed <c>_0</c>, <c>_1</c>, …) and the weighted
/// total to back-propagate. The caller owns the tensors: dispose this object.
/// </summary>
public sealed class Mask2FormerLoss : IDisposable
{
    internal Mask2FormerLoss(Tensor total, IReadOnlyDictionary<string, Tensor> terms, IReadOnlyList<IReadOnlyList<QueryTargetMatch>> matches)
    {
        Total = total;
        Terms = terms;
        Matches = matches;
    }

    /// <summary>The weighted sum of every term (a scalar with a gradient graph).</summary>
    public Tensor Total { get; }

    /// <summary>The unweighted scalar terms, in the order computed.</summary>
    public IReadOnlyDictionary<string, Tensor> Terms { get; }

    /// <summary>The matching of each prediction layer: the last layer first, then the auxiliary layers in order.</summary>
    public IReadOnlyList<IReadOnlyList<QueryTargetMatch>> Matches { get; }

    /// <summary>The value of every term and of the total, as numbers (copies them to the CPU).</summary>
    public IReadOnlyDictionary<string, double> ToValues()
    {
        var values = new Dictionary<string, double>(Terms.Count + 1, StringComparer.Ordinal);
        foreach (var (key, t) in Terms) values[key] = Value(t);
        values["loss"] = Value(Total);
        return values;
    }

    private static double Value(Tensor t)
    {
        using var detached = t.detach();
        using var d = detached.to(ScalarType.Float64);
        return d.item<double>();
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        Total.Dispose();
        foreach (var t in Terms.Values) t.Dispose();
    }
}
