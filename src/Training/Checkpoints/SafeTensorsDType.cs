using Microsoft.ML.Mask2Former.Formats;
using static TorchSharp.torch;

namespace Microsoft.ML.Mask2Former.Training.Checkpoints;

/// <summary>The element types a safetensors file may declare that this reader and writer support.</summary>
public enum SafeTensorsDType
{
    /// <summary>IEEE 754 binary64 ("F64").</summary>
    F64 = (int)SafeTensorsElementType.F64,
    /// <summary>IEEE 754 binary32 ("F32").</summary>
    F32 = (int)SafeTensorsElementType.F32,
    /// <summary>IEEE 754 binary16 ("F16").</summary>
    F16 = (int)SafeTensorsElementType.F16,
    /// <summary>bfloat16 ("BF16").</summary>
    BF16 = (int)SafeTensorsElementType.BF16,
    /// <summary>Signed 64-bit integer ("I64").</summary>
    I64 = (int)SafeTensorsElementType.I64,
    /// <summary>Signed 32-bit integer ("I32").</summary>
    I32 = (int)SafeTensorsElementType.I32,
    /// <summary>Signed 16-bit integer ("I16").</summary>
    I16 = (int)SafeTensorsElementType.I16,
    /// <summary>Signed 8-bit integer ("I8").</summary>
    I8 = (int)SafeTensorsElementType.I8,
    /// <summary>Unsigned 8-bit integer ("U8").</summary>
    U8 = (int)SafeTensorsElementType.U8,
    /// <summary>Boolean stored as one byte, 0 or 1 ("BOOL").</summary>
    Bool = (int)SafeTensorsElementType.Bool,
}

/// <summary>Names, sizes and TorchSharp equivalents of <see cref="SafeTensorsDType"/>.</summary>
public static class SafeTensorsDTypes
{
    /// <summary>The dtype string written in a safetensors header.</summary>
    public static string ToHeaderName(this SafeTensorsDType dtype) => ((SafeTensorsElementType)dtype).ToHeaderName();

    /// <summary>Parses a header dtype string; <see langword="false"/> for names this reader does not support.</summary>
    public static bool TryParse(string? name, out SafeTensorsDType dtype)
    {
        var known = SafeTensorsElementTypes.TryParse(name, out var type);
        dtype = (SafeTensorsDType)type;
        return known;
    }

    /// <summary>Bytes per element.</summary>
    public static int ElementSize(this SafeTensorsDType dtype) => ((SafeTensorsElementType)dtype).ElementSize();

    /// <summary>The TorchSharp scalar type with the same memory layout.</summary>
    public static ScalarType ToScalarType(this SafeTensorsDType dtype) => dtype switch
    {
        SafeTensorsDType.F64 => ScalarType.Float64,
        SafeTensorsDType.F32 => ScalarType.Float32,
        SafeTensorsDType.F16 => ScalarType.Float16,
        SafeTensorsDType.BF16 => ScalarType.BFloat16,
        SafeTensorsDType.I64 => ScalarType.Int64,
        SafeTensorsDType.I32 => ScalarType.Int32,
        SafeTensorsDType.I16 => ScalarType.Int16,
        SafeTensorsDType.I8 => ScalarType.Int8,
        SafeTensorsDType.U8 => ScalarType.Byte,
        SafeTensorsDType.Bool => ScalarType.Bool,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Unknown safetensors dtype."),
    };

    /// <summary>The safetensors dtype of a TorchSharp scalar type.</summary>
    /// <exception cref="NotSupportedException">The scalar type has no safetensors equivalent here (complex types).</exception>
    public static SafeTensorsDType FromScalarType(ScalarType type) => type switch
    {
        ScalarType.Float64 => SafeTensorsDType.F64,
        ScalarType.Float32 => SafeTensorsDType.F32,
        ScalarType.Float16 => SafeTensorsDType.F16,
        ScalarType.BFloat16 => SafeTensorsDType.BF16,
        ScalarType.Int64 => SafeTensorsDType.I64,
        ScalarType.Int32 => SafeTensorsDType.I32,
        ScalarType.Int16 => SafeTensorsDType.I16,
        ScalarType.Int8 => SafeTensorsDType.I8,
        ScalarType.Byte => SafeTensorsDType.U8,
        ScalarType.Bool => SafeTensorsDType.Bool,
        _ => throw new NotSupportedException($"Tensors of type {type} cannot be stored in safetensors by this writer."),
    };
}
