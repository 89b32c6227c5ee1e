namespace Microsoft.ML.Mask2Former.Evaluation;

/// <summary>Options for <see cref="InstanceEvaluator"/>.</summary>
public sealed class InstanceEvaluatorOptions
{
    /// <summary>
    /// Images matched in parallel (default: the processor count). The numbers do not depend on
    /// it: every image is matched on its own and the results are gathered in image order.
    /// </summary>
    public int Threads { get; set; } = Environment.ProcessorCount;
}
