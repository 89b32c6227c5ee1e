namespace Microsoft.ML.Mask2Former.Training.Checkpoints;

/// <summary>One tensor of a safetensors file as its header describes it (validated).</summary>
public sealed class SafeTensorsEntry
{
    internal SafeTensorsEntry(string name, SafeTensorsDType dtype, long[] shape, long begin, long end)
    {
        Name = name;
        DType = dtype;
        Shape = shape;
        Begin = begin;
        End = end;
    }

    /// <summary>The tensor's name (for a Hugging Face checkpoint, the state-dict key).</summary>
    public string Name { get; }

    /// <summary>The stored element type.</summary>
    public SafeTensorsDType DType { get; }

    /// <summary>The shape; empty for a scalar.</summary>
    public IReadOnlyList<long> Shape { get; }

    /// <summary>First byte of the tensor, relative to the start of the data section.</summary>
    public long Begin { get; }

    /// <summary>One past the last byte of the tensor, relative to the start of the data section.</summary>
    public long End { get; }

    /// <summary>Number of bytes, <c>End - Begin</c>.</summary>
    public long ByteLength => End - Begin;

    /// <summary>Number of elements (the product of the shape; 1 for a scalar).</summary>
    public long ElementCount => ByteLength / DType.ElementSize();

    internal long[] ShapeArray => (long[])Shape;

    /// <summary>For messages: <c>F32[32, 3, 4, 4]</c>.</summary>
    public override string ToString() => $"{Name}: {DType.ToHeaderName()}[{string.Join(", ", Shape)}]";
}
