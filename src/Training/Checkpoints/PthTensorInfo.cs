namespace Microsoft.ML.Mask2Former.Training.Checkpoints;

/// <summary>
/// A tensor of a <c>torch.save</c> archive as its pickle rebuilds it (<c>_rebuild_tensor_v2</c>):
/// a view with <see cref="Shape"/> and <see cref="Stride"/> (in elements) starting
/// <see cref="StorageOffset"/> elements into a <see cref="PthStorage"/>. Nothing is read until
/// <see cref="PthFile.ReadTensor(PthTensorInfo, string)"/>.
/// </summary>
public sealed class PthTensorInfo
{
    internal PthTensorInfo(PthStorage storage, long storageOffset, long[] shape, long[] stride, bool requiresGrad)
    {
        Storage = storage;
        StorageOffset = storageOffset;
        Shape = shape;
        Stride = stride;
        RequiresGrad = requiresGrad;
    }

    /// <summary>The storage the tensor views.</summary>
    public PthStorage Storage { get; }

    /// <summary>First element of the view in the storage.</summary>
    public long StorageOffset { get; }

    /// <summary>The shape; empty for a scalar.</summary>
    public IReadOnlyList<long> Shape { get; }

    /// <summary>Element strides per dimension.</summary>
    public IReadOnlyList<long> Stride { get; }

    /// <summary>Whether the pickled tensor required gradients (a parameter).</summary>
    public bool RequiresGrad { get; }

    /// <summary>The element type.</summary>
    public SafeTensorsElementType ElementType => Storage.ElementType;

    /// <summary>Elements in the tensor (1 for a scalar).</summary>
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);

    /// <summary>Whether the view is row-major contiguous (then its bytes are one range of the storage).</summary>
    public bool IsContiguous
    {
        get
        {
            long expected = 1;
            for (var d = Shape.Count - 1; d >= 0; d--)
            {
                if (Shape[d] != 1 && Stride[d] != expected) return false;
                expected *= Shape[d];
            }
            return true;
        }
    }

    /// <summary>
    /// What is wrong with the view, or <see langword="null"/>: negative sizes or strides, an
    /// element count that overflows, or elements outside the storage.
    /// </summary>
    internal string? Problem()
    {
        if (Shape.Count != Stride.Count) return $"has {Shape.Count} sizes but {Stride.Count} strides";
        if (StorageOffset < 0) return $"has a negative storage offset {StorageOffset}";
        long count = 1;
        long last = StorageOffset;
        for (var d = 0; d < Shape.Count; d++)
        {
            if (Shape[d] < 0) return $"has a negative size {Shape[d]} in dimension {d}";
            if (Stride[d] < 0) return $"has a negative stride {Stride[d]} in dimension {d}";
            try
            {
                count = checked(count * Shape[d]);
                if (Shape[d] > 0) last = checked(last + (Shape[d] - 1) * Stride[d]);
            }
            catch (OverflowException)
            {
                return "has a size or stride that overflows";
            }
        }
        if (count > 0 && last >= Storage.ElementCount)
            return $"reaches element {last} of storage '{Storage.Key}', which holds {Storage.ElementCount} {Storage.ElementType.ToHeaderName()} elements (shape {Describe()}, offset {StorageOffset})";
        return null;
    }

    /// <summary>For messages: <c>F32[64, 3] stride [3, 1]</c>.</summary>
    public string Describe() => $"{ElementType.ToHeaderName()}[{string.Join(", ", Shape)}] stride [{string.Join(", ", Stride)}]";

    /// <inheritdoc/>
    public override string ToString() => Describe();
}
