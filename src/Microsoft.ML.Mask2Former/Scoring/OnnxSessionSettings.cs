using Microsoft.ML.OnnxRuntime;

namespace Microsoft.ML.Mask2Former.Scoring;

/// <summary>
/// The ONNX Runtime session settings every session we create uses (the predictor, on CPU or GPU,
/// and the benchmarks), kept in one place.
/// </summary>
/// <remarks>
/// ML.NET's <c>ApplyOnnxModel</c> builds its own session and exposes only the thread counts, so
/// nothing here may be needed for correct or fast results: the exported graph itself avoids
/// denormals (its Swin shifted-window mask is −10⁴, whose softmax weights are exact zeros), and flushing them here is
/// a second line of defence for models exported elsewhere (a PyTorch export with the −100 mask
/// runs its attention MatMuls 4–8× slower on denormal softmax weights).
/// </remarks>
internal static class OnnxSessionSettings
{
    /// <summary>Applies the settings to <paramref name="options"/> (a CPU or CUDA session's) and returns it.</summary>
    public static SessionOptions Apply(SessionOptions options, int? intraOpThreads)
    {
        options.GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL;
        options.ExecutionMode = ExecutionMode.ORT_SEQUENTIAL;
        options.EnableMemoryPattern = true;
        if (intraOpThreads is { } n) options.IntraOpNumThreads = n;
        options.AddSessionConfigEntry("session.set_denormal_as_zero", "1");
        // Spinning workers starve anything else on a small machine (an ML.NET cursor's other rows,
        // post-processing): a 2-core run took 25 s instead of 0.9 s next to another process.
        options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        return options;
    }

    /// <summary>New CPU session options with the settings.</summary>
    public static SessionOptions Create(int? intraOpThreads) => Apply(new SessionOptions(), intraOpThreads);
}
