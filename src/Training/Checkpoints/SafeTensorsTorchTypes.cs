namespace Microsoft.ML.Mask2Former.Training.Checkpoints;

/// <summary>TorchSharp equivalents of <see cref="SafeTensorsElementType"/>.</summary>
public static class SafeTensorsTorchTypes
{
    /// <summary>The TorchSharp scalar type with the same memory layout.</summary>
    public static ScalarType ToScalarType(this SafeTensorsElementType type) => type switch
    {
        SafeTensorsElementType.F64 => ScalarType.Float64,
        SafeTensorsElementType.F32 => ScalarType.Float32,
        SafeTensorsElementType.F16 => ScalarType.Float16,
        SafeTensorsElementType.BF16 => ScalarType.BFloat16,
        SafeTensorsElementType.I64 => ScalarType.Int64,
        SafeTensorsElementType.I32 => ScalarType.Int32,
        SafeTensorsElementType.I16 => ScalarType.Int16,
        SafeTensorsElementType.I8 => ScalarType.Int8,
        SafeTensorsElementType.U8 => ScalarType.Byte,
        SafeTensorsElementType.Bool => ScalarType.Bool,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown safetensors dtype."),
    };

    /// <summary>The safetensors element type of a TorchSharp scalar type.</summary>
    /// <exception cref="NotSupportedException">The scalar type has no safetensors equivalent here (complex types).</exception>
    public static SafeTensorsElementType ToElementType(ScalarType type) => type switch
    {
        ScalarType.Float64 => SafeTensorsElementType.F64,
        ScalarType.Float32 => SafeTensorsElementType.F32,
        ScalarType.Float16 => SafeTensorsElementType.F16,
        ScalarType.BFloat16 => SafeTensorsElementType.BF16,
        ScalarType.Int64 => SafeTensorsElementType.I64,
        ScalarType.Int32 => SafeTensorsElementType.I32,
        ScalarType.Int16 => SafeTensorsElementType.I16,
        ScalarType.Int8 => SafeTensorsElementType.I8,
        ScalarType.Byte => SafeTensorsElementType.U8,
        ScalarType.Bool => SafeTensorsElementType.Bool,
        _ => throw new NotSupportedException($"Tensors of type {type} cannot be stored in safetensors by this writer."),
    };
}
