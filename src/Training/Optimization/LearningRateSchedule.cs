namespace Microsoft.ML.Mask2Former.Training.Optimization;

/// <summary>
/// The learning-rate factor of each step (multiplies every parameter group's base rate): linear
/// warm-up from <c>warmupFactor</c> to 1 over the first warm-up steps, times multi-step decay or
/// poly decay, as detectron2's <c>WarmupMultiStepLR</c> / <c>WarmupPolyLR</c>.
/// </summary>
public sealed class LearningRateSchedule
{
    /// <summary>Creates a schedule over <paramref name="totalSteps"/> steps.</summary>
    /// <param name="kind">Multi-step or poly.</param>
    /// <param name="totalSteps">The number of optimizer steps of the whole run.</param>
    /// <param name="milestones">Fractions of <paramref name="totalSteps"/> where multi-step decays (0.889 and 0.963 in Mask2Former).</param>
    /// <param name="gamma">The multi-step decay factor (0.1).</param>
    /// <param name="polyPower">The poly exponent (0.9).</param>
    /// <param name="warmupSteps">Steps of linear warm-up (0 for none).</param>
    /// <param name="warmupFactor">The factor at step 0 of the warm-up (1.0 makes the warm-up a no-op).</param>
    /// <exception cref="ArgumentException">A value is out of range.</exception>
    public LearningRateSchedule(LearningRateScheduleKind kind, long totalSteps, IReadOnlyList<double> milestones, double gamma, double polyPower, long warmupSteps, double warmupFactor)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(totalSteps, 1);
        ArgumentNullException.ThrowIfNull(milestones);
        ArgumentOutOfRangeException.ThrowIfNegative(warmupSteps);
        if (milestones.Any(m => !(m > 0 && m <= 1))) throw new ArgumentException($"milestones must be fractions in (0, 1], got [{string.Join(", ", milestones)}]", nameof(milestones));
        if (!(gamma > 0) || !double.IsFinite(gamma)) throw new ArgumentException($"gamma must be positive, got {gamma}", nameof(gamma));
        if (!(polyPower >= 0) || !double.IsFinite(polyPower)) throw new ArgumentException($"the poly power must be non-negative, got {polyPower}", nameof(polyPower));
        if (!(warmupFactor > 0 && warmupFactor <= 1)) throw new ArgumentException($"the warm-up factor must be in (0, 1], got {warmupFactor}", nameof(warmupFactor));
        Kind = kind;
        TotalSteps = totalSteps;
        MilestoneSteps = milestones.Select(m => (long)Math.Round(m * totalSteps)).Order().ToArray();
        Gamma = gamma;
        PolyPower = polyPower;
        WarmupSteps = warmupSteps;
        WarmupFactor = warmupFactor;
    }

    /// <summary>The schedule kind.</summary>
    public LearningRateScheduleKind Kind { get; }

    /// <summary>The number of steps of the run.</summary>
    public long TotalSteps { get; }

    /// <summary>The steps at which multi-step decays (rounded fractions of <see cref="TotalSteps"/>).</summary>
    public IReadOnlyList<long> MilestoneSteps { get; }

    /// <summary>The multi-step decay factor.</summary>
    public double Gamma { get; }

    /// <summary>The poly exponent.</summary>
    public double PolyPower { get; }

    /// <summary>The warm-up length in steps.</summary>
    public long WarmupSteps { get; }

    /// <summary>The warm-up's starting factor.</summary>
    public double WarmupFactor { get; }

    /// <summary>The factor for the optimizer step that has <paramref name="step"/> steps before it (0-based).</summary>
    public double Factor(long step)
    {
        var warmup = 1.0;
        if (step < WarmupSteps)
        {
            var alpha = (double)step / WarmupSteps;
            warmup = WarmupFactor * (1 - alpha) + alpha;
        }
        var decay = Kind switch
        {
            LearningRateScheduleKind.MultiStep => Math.Pow(Gamma, MilestoneSteps.Count(m => m <= step)),
            _ => Math.Pow(Math.Max(0.0, 1.0 - (double)step / TotalSteps), PolyPower),
        };
        return warmup * decay;
    }
}
