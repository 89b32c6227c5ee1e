using System.Text.Json;
using Microsoft.ML.Mask2Former.Formats;

namespace Mask2Former.Cli;

/// <summary>Writes a command's <c>--json</c> result file: one indented object, written atomically.</summary>
internal static class JsonOutput
{
    public static void Write(string path, Action<Utf8JsonWriter> writeProperties) =>
        AtomicFile.Write(path, stream =>
        {
            using var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
            w.WriteStartObject();
            writeProperties(w);
            w.WriteEndObject();
        });
}
