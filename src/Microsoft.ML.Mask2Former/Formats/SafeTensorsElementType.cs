namespace Microsoft.ML.Mask2Former.Formats;

/// <summary>The element types a safetensors header may declare that <see cref="SafeTensorsReader"/> accepts.</summary>
public enum SafeTensorsElementType
{
    /// <summary>IEEE 754 binary64 ("F64").</summary>
    F64 = 0,
    /// <summary>IEEE 754 binary32 ("F32").</summary>
    F32 = 1,
    /// <summary>IEEE 754 binary16 ("F16").</summary>
    F16 = 2,
    /// <summary>bfloat16 ("BF16").</summary>
    BF16 = 3,
    /// <summary>Signed 64-bit integer ("I64").</summary>
    I64 = 4,
    /// <summary>Signed 32-bit integer ("I32").</summary>
    I32 = 5,
    /// <summary>Signed 16-bit integer ("I16").</summary>
    I16 = 6,
    /// <summary>Signed 8-bit integer ("I8").</summary>
    I8 = 7,
    /// <summary>Unsigned 8-bit integer ("U8").</summary>
    U8 = 8,
    /// <summary>Boolean stored as one byte, 0 or 1 ("BOOL").</summary>
    Bool = 9,
}

/// <summary>Header names and sizes of <see cref="SafeTensorsElementType"/>.</summary>
public static class SafeTensorsElementTypes
{
    /// <summary>The dtype string written in a safetensors header.</summary>
    public static string ToHeaderName(this SafeTensorsElementType type) => type switch
    {
        SafeTensorsElementType.F64 => "F64",
        SafeTensorsElementType.F32 => "F32",
        SafeTensorsElementType.F16 => "F16",
        SafeTensorsElementType.BF16 => "BF16",
        SafeTensorsElementType.I64 => "I64",
        SafeTensorsElementType.I32 => "I32",
        SafeTensorsElementType.I16 => "I16",
        SafeTensorsElementType.I8 => "I8",
        SafeTensorsElementType.U8 => "U8",
        SafeTensorsElementType.Bool => "BOOL",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown safetensors dtype."),
    };

    /// <summary>Parses a header dtype string; <see langword="false"/> for names this reader does not support.</summary>
    public static bool TryParse(string? name, out SafeTensorsElementType type)
    {
        switch (name)
        {
            case "F64": type = SafeTensorsElementType.F64; return true;
            case "F32": type = SafeTensorsElementType.F32; return true;
            case "F16": type = SafeTensorsElementType.F16; return true;
            case "BF16": type = SafeTensorsElementType.BF16; return true;
            case "I64": type = SafeTensorsElementType.I64; return true;
            case "I32": type = SafeTensorsElementType.I32; return true;
            case "I16": type = SafeTensorsElementType.I16; return true;
            case "I8": type = SafeTensorsElementType.I8; return true;
            case "U8": type = SafeTensorsElementType.U8; return true;
            case "BOOL": type = SafeTensorsElementType.Bool; return true;
            default: type = default; return false;
        }
    }

    /// <summary>Bytes per element.</summary>
    public static int ElementSize(this SafeTensorsElementType type) => type switch
    {
        SafeTensorsElementType.F64 or SafeTensorsElementType.I64 => 8,
        SafeTensorsElementType.F32 or SafeTensorsElementType.I32 => 4,
        SafeTensorsElementType.F16 or SafeTensorsElementType.BF16 or SafeTensorsElementType.I16 => 2,
        SafeTensorsElementType.I8 or SafeTensorsElementType.U8 or SafeTensorsElementType.Bool => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown safetensors dtype."),
    };
}
