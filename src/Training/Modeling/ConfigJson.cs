using System.Text.Json;
using System.Text.Json.Nodes;

namespace Microsoft.ML.Mask2Former.Training.Modeling;

/// <summary>
/// Reading a <c>config.json</c> (ours, Hugging Face's or mmdetection's) with one error contract:
/// every failure, whatever layer throws it, becomes a <see cref="DataFormatException"/> naming the file.
/// </summary>
internal static class ConfigJson
{
    /// <summary>The text's top-level object.</summary>
    public static JsonObject ParseObject(string json, string? filePath)
    {
        ArgumentNullException.ThrowIfNull(json);
        try
        {
            return JsonNode.Parse(json) as JsonObject ?? throw new DataFormatException("config.json is not a JSON object", filePath);
        }
        catch (JsonException e)
        {
            throw new DataFormatException($"config.json is not valid JSON: {e.Message}", filePath, inner: e);
        }
    }

    /// <summary>Runs <paramref name="read"/>, turning the field readers' exceptions into <see cref="DataFormatException"/>s.</summary>
    public static T Read<T>(string? filePath, Func<T> read)
    {
        try
        {
            return read();
        }
        catch (ArgumentException e)
        {
            throw new DataFormatException(e.Message, filePath, inner: e);
        }
        catch (InvalidOperationException e)
        {
            throw new DataFormatException($"config.json has a field of the wrong type: {e.Message}", filePath, inner: e);
        }
        catch (FormatException e) when (e is not DataFormatException)
        {
            throw new DataFormatException($"config.json has a malformed number: {e.Message}", filePath, inner: e);
        }
    }
}
