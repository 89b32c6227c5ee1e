using System.Collections.Immutable;

namespace Microsoft.ML.Mask2Former.PostProcessing;

/// <summary>The instances detected in one image.</summary>
public sealed class InstanceResult
{
    internal InstanceResult(int height, int width, ImmutableArray<InstancePrediction> instances)
    {
        Height = height;
        Width = width;
        Instances = instances;
    }

    /// <summary>Rows of every mask.</summary>
    public int Height { get; }

    /// <summary>Columns of every mask.</summary>
    public int Width { get; }

    /// <summary>
    /// The instances in the order PyTorch's unsorted <c>topk</c> returns them (what the reference
    /// returns; it is not sorted by score).
    /// </summary>
    public ImmutableArray<InstancePrediction> Instances { get; }
}
