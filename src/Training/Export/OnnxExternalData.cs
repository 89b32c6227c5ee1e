using Google.Protobuf;
using Microsoft.ML.Mask2Former.Onnx;

namespace Microsoft.ML.Mask2Former.Training.Export;

/// <summary>
/// ONNX external data: the raw bytes of large initializers moved out of the model into one file
/// beside it (TensorProto <c>data_location</c> EXTERNAL with <c>location</c>, <c>offset</c>,
/// <c>length</c>), which is how models over protobuf's 2 GiB limit are stored. ONNX Runtime reads
/// them when the model is loaded from its path.
/// </summary>
internal static class OnnxExternalData
{
    /// <summary>Protobuf's limit on one serialised message (2 GiB − 1).</summary>
    public const long ProtobufLimit = int.MaxValue;

    /// <summary>Initializers below this size stay inside the model (shape constants, small vectors).</summary>
    private const int MinimumBytes = 1024;

    /// <summary>Offsets are aligned to this many bytes, so ONNX Runtime can map the file.</summary>
    private const int Alignment = 4096;

    /// <summary>Total raw bytes of the model's initializers.</summary>
    public static long InitializerBytes(ModelProto model) => model.Graph.Initializer.Sum(t => (long)t.RawData.Length);

    /// <summary>
    /// Moves every initializer of at least <see cref="MinimumBytes"/> raw bytes into
    /// <paramref name="stream"/> (the file named <paramref name="location"/> beside the model),
    /// each at an aligned offset.
    /// </summary>
    public static void Move(ModelProto model, Stream stream, string location)
    {
        long offset = 0;
        foreach (var tensor in model.Graph.Initializer)
        {
            if (tensor.RawData.Length < MinimumBytes) continue;
            var padding = (Alignment - offset % Alignment) % Alignment;
            if (padding > 0) stream.Write(new byte[padding]);
            offset += padding;
            tensor.RawData.WriteTo(stream);
            tensor.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = location });
            tensor.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = offset.ToString(System.Globalization.CultureInfo.InvariantCulture) });
            tensor.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = tensor.RawData.Length.ToString(System.Globalization.CultureInfo.InvariantCulture) });
            tensor.DataLocation = TensorProto.Types.DataLocation.External;
            offset += tensor.RawData.Length;
            tensor.RawData = ByteString.Empty;
        }
    }
}
