namespace Microsoft.ML.Mask2Former.Scoring;

/// <summary>A row with no columns (schema propagation only).</summary>
internal sealed class NoColumns
{
}
