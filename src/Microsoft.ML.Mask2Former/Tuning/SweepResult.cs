namespace Microsoft.ML.Mask2Former.Tuning;

/// <summary>The outcome of one trial: settings evaluated at a budget.</summary>
/// <param name="Trial">The trial's number in the sweep (1-based, in the order trials were started).</param>
/// <param name="Settings">The settings.</param>
/// <param name="Budget">The budget the objective was given (e.g. training steps; 1 for a sweep without budgets).</param>
/// <param name="Metric">The objective's value; NaN when the trial failed.</param>
/// <param name="Seconds">Wall time of the trial.</param>
/// <param name="Error">Why the trial failed, or <see langword="null"/>.</param>
public sealed record SweepResult(int Trial, SweepSettings Settings, int Budget, double Metric, double Seconds, string? Error = null)
{
    /// <summary>Whether the trial produced a finite metric.</summary>
    public bool Succeeded => Error is null && double.IsFinite(Metric);
}
