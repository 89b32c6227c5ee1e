using Microsoft.ML.Mask2Former.Scoring;
using System.Globalization;
using BenchmarkDotNet.Attributes;
using Microsoft.ML.Mask2Former.Training.Export;
using Microsoft.ML.Mask2Former.Training.Modeling;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Mask2Former.Benchmarks;

/// <summary>
/// ONNX Runtime (CPU, 2 intra-op threads, full graph optimisation) on our dynamic-size export of
/// a full Swin-T Mask2Former (100 queries, 133 classes, random weights) at 384×384 and 800×1216,
/// the same cases as <see cref="ModelForwardBenchmarks"/> runs through TorchSharp. PyTorch 1.13 eager
/// takes 1.61 s and 11.7 s on the 2-core reference machine; the goal is ≤ 0.55 s and ≤ 3.9 s.
/// </summary>
[Config(typeof(InProcessMonitoring))]
public class OnnxExportBenchmarks
{
    private InferenceSession _session = null!;
    private NamedOnnxValue[] _inputs = null!;

    [Params("swin-t-384x384", "swin-t-800x1216")]
    public string Case { get; set; } = "swin-t-384x384";

    [Params(2)]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var size = Case.Split('-')[^1].Split('x').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        var path = EnsureSwinTiny();
        // The product's session settings (no spinning, denormals flushed, full graph optimisation).
        using var options = OnnxSessionSettings.Create(Threads);
        _session = new InferenceSession(path, options);
        var rng = new Random(1);
        var data = new float[3 * size[0] * size[1]];
        for (var i = 0; i < data.Length; i++) data[i] = (float)(rng.NextDouble() * 4 - 2);
        _inputs = [NamedOnnxValue.CreateFromTensor("pixel_values", new DenseTensor<float>(data, [1, 3, size[0], size[1]]))];
        PeakMemory.Reset();
    }

    /// <summary>Exports the random-weight Swin-T model once into the data cache (also <c>-- export-swin-t [int8]</c>, for profiling).</summary>
    public static string EnsureSwinTiny(OnnxQuantization quantization = OnnxQuantization.None)
    {
        var path = Path.Combine(RepoPaths.DataCache, quantization == OnnxQuantization.None ? "swin-t-133.onnx" : "swin-t-133-int8.onnx");
        if (File.Exists(path)) return path;
        Directory.CreateDirectory(RepoPaths.DataCache);
        using var network = new Mask2FormerForUniversalSegmentation(Presets.SwinTiny(numLabels: 133));
        network.eval();
        var report = Mask2FormerOnnxExporter.Export(network, path, new OnnxExportOptions { Quantization = quantization });
        Console.WriteLine($"// exported Swin-T to {path}: {report.Nodes} nodes, {report.Bytes / 1e6:F0} MB");
        return path;
    }

    [Benchmark]
    public float OnnxRuntime()
    {
        using var results = _session.Run(_inputs);
        return results.First().AsTensor<float>().GetValue(0);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        Console.WriteLine($"// ORT {Case}: peak resident memory {PeakMemory.ResidentBytes() / 1e6:F0} MB (process, since setup)");
        _session.Dispose();
    }
}
