namespace Microsoft.ML.Mask2Former.Formats;

/// <summary>One tensor of a safetensors file as its (validated) header describes it.</summary>
public sealed class SafeTensorsTensorInfo
{
    internal SafeTensorsTensorInfo(string name, SafeTensorsElementType elementType, long[] shape, long begin, long end)
    {
        Name = name;
        ElementType = elementType;
        ShapeArray = shape;
        Begin = begin;
        End = end;
    }

    /// <summary>The tensor's name (for a Hugging Face checkpoint, the state-dict key).</summary>
    public string Name { get; }

    /// <summary>The stored element type.</summary>
    public SafeTensorsElementType ElementType { get; }

    /// <summary>The shape; empty for a scalar.</summary>
    public IReadOnlyList<long> Shape => ShapeArray;

    /// <summary>First byte of the tensor, relative to the start of the data section.</summary>
    public long Begin { get; }

    /// <summary>One past the last byte of the tensor, relative to the start of the data section.</summary>
    public long End { get; }

    /// <summary>Number of bytes, <c>End - Begin</c>.</summary>
    public long ByteLength => End - Begin;

    /// <summary>Number of elements (the product of the shape; 1 for a scalar).</summary>
    public long ElementCount => ByteLength / ElementType.ElementSize();

    internal long[] ShapeArray { get; }

    /// <summary>For messages: <c>name: F32[32, 3, 4, 4]</c>.</summary>
    public override string ToString() => $"{Name}: {ElementType.ToHeaderName()}[{string.Join(", ", ShapeArray)}]";
}
