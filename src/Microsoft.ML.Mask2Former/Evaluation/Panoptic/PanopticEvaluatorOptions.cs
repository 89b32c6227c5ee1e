namespace Microsoft.ML.Mask2Former.Evaluation;

/// <summary>Options of <see cref="PanopticEvaluator"/>.</summary>
public sealed class PanopticEvaluatorOptions
{
    /// <summary>
    /// Images evaluated in parallel. Default: <see cref="Environment.ProcessorCount"/>. Results do
    /// not depend on it: per-image counts are reduced in ground-truth order.
    /// </summary>
    public int Threads { get; set; } = Environment.ProcessorCount;

    /// <summary>Receives the number of images finished so far (in no particular order of completion). Default: none.</summary>
    public IProgress<int>? Progress { get; set; }

    /// <summary>Stops the evaluation between images. Default: none.</summary>
    public CancellationToken CancellationToken { get; set; }
}
