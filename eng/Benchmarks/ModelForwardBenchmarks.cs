using System.Globalization;
using BenchmarkDotNet.Attributes;
using Microsoft.ML.Mask2Former.Training.Modeling;
using static TorchSharp.torch;

namespace Mask2Former.Benchmarks;

/// <summary>
/// One inference forward pass of the TorchSharp Mask2Former on CPU with 2 threads (random weights):
/// the small reference model at 96×160 and a full Swin-T Mask2Former (100 queries, 133 classes) at
/// 384×384 and 800×1216. The PyTorch 1.13 eager reference takes 0.037 s, 1.61 s and 11.7 s on the
/// 2-core reference machine. Runs in process (the native libtorch needs this repository's build
/// step); the peak resident memory of each case is printed after it
/// (<c>dotnet run -c Release --project eng/Benchmarks -- --filter '*ModelForward*'</c>).
/// </summary>
[Config(typeof(InProcessMonitoring))]
public class ModelForwardBenchmarks
{
    private Mask2FormerForUniversalSegmentation _network = null!;
    private Tensor _input = null!;

    /// <summary>Model and input size.</summary>
    [Params("small-96x160", "swin-t-384x384", "swin-t-800x1216")]
    public string Case { get; set; } = "small-96x160";

    /// <summary>Intra-op threads of libtorch.</summary>
    [Params(2)]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        set_num_threads(Threads);
        var parts = Case.Split('-');
        var size = parts[^1].Split('x').Select(s => long.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        _network = new Mask2FormerForUniversalSegmentation(parts[0] == "small" ? Presets.Small() : Presets.SwinTiny(numLabels: 133));
        _network.eval();
        _input = randn(1, 3, size[0], size[1], generator: new Generator(1));
        PeakMemory.Reset();
    }

    [Benchmark]
    public float Forward()
    {
        using var noGrad = no_grad();
        using var output = _network.forward(_input);
        return output.ClassQueriesLogits[0, 0, 0].item<float>();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        Console.WriteLine($"// {Case}: peak resident memory {PeakMemory.ResidentBytes() / 1e6:F0} MB (process, since setup)");
        _input.Dispose();
        _network.Dispose();
    }
}
