namespace Microsoft.ML.Mask2Former.Scoring;

/// <summary>Model bytes written to files for <c>OnnxOptions</c>; deleted when the process exits.</summary>
internal static class TemporaryModelFiles
{
    private static readonly System.Collections.Concurrent.ConcurrentQueue<string> Files = new();
    private static int _registered;

    public static string Write(byte[] model)
    {
        var path = Path.Combine(Path.GetTempPath(), "m2f-model-" + Guid.NewGuid().ToString("N") + ".onnx");
        File.WriteAllBytes(path, model);
        Files.Enqueue(path);
        if (Interlocked.Exchange(ref _registered, 1) == 0) AppDomain.CurrentDomain.ProcessExit += (_, _) => DeleteAll();
        return path;
    }

    private static void DeleteAll()
    {
        while (Files.TryDequeue(out var path))
        {
            try { File.Delete(path); }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
    }
}
