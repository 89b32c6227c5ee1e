using Microsoft.ML.Mask2Former.Formats;

namespace Microsoft.ML.Mask2Former.Training.Checkpoints;

/// <summary>One tensor of a safetensors file as its header describes it (validated).</summary>
public sealed class SafeTensorsEntry
{
    internal SafeTensorsEntry(SafeTensorsTensorInfo info)
    {
        Info = info;
        DType = (SafeTensorsDType)info.ElementType;
    }

    /// <summary>The tensor's name (for a Hugging Face checkpoint, the state-dict key).</summary>
    public string Name => Info.Name;

    /// <summary>The stored element type.</summary>
    public SafeTensorsDType DType { get; }

    /// <summary>The shape; empty for a scalar.</summary>
    public IReadOnlyList<long> Shape => Info.Shape;

    /// <summary>First byte of the tensor, relative to the start of the data section.</summary>
    public long Begin => Info.Begin;

    /// <summary>One past the last byte of the tensor, relative to the start of the data section.</summary>
    public long End => Info.End;

    /// <summary>Number of bytes, <c>End - Begin</c>.</summary>
    public long ByteLength => Info.ByteLength;

    /// <summary>Number of elements (the product of the shape; 1 for a scalar).</summary>
    public long ElementCount => Info.ElementCount;

    /// <summary>The header entry of the dependency-free reader this one wraps.</summary>
    internal SafeTensorsTensorInfo Info { get; }

    internal long[] ShapeArray => Info.Shape.ToArray();

    /// <summary>For messages: <c>F32[32, 3, 4, 4]</c>.</summary>
    public override string ToString() => Info.ToString();
}
