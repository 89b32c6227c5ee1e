using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Engines;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Microsoft.ML.Mask2Former.Training.Export;
using Microsoft.ML.Mask2Former.Training.Modeling;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using static TorchSharp.torch;
using Tensor = TorchSharp.torch.Tensor;

namespace Mask2Former.Benchmarks;

/// <summary>
/// One inference forward pass of the seed's model, Mask2Former + ViT-Adapter-L (preset
/// <c>vit-adapter-l-coco-panoptic</c>, 348 M parameters, random weights) at 800×1216 on CPU with 2
/// threads, through TorchSharp and through ONNX Runtime (our dynamic-size export, written once to a
/// temporary folder with its weights as external data). A forward takes about a minute on 2 cores, so
/// the job measures one run after BenchmarkDotNet's one-call jitting stage; the peak resident memory
/// of each case is printed after it
/// (<c>dotnet run -c Release --project eng/Benchmarks -- --filter '*VitAdapterForward*'</c>).
/// </summary>
[Config(typeof(SingleRun))]
public class VitAdapterForwardBenchmarks
{
    private Mask2FormerForUniversalSegmentation? _network;
    private Tensor? _input;
    private InferenceSession? _session;
    private NamedOnnxValue[]? _inputs;
    private string? _folder;

    /// <summary>The job: in process, no warm-up beyond the jitting call, one measured run.</summary>
    public sealed class SingleRun : ManualConfig
    {
        /// <summary>Creates the configuration.</summary>
        public SingleRun()
        {
            AddJob(Job.Default.WithStrategy(RunStrategy.Monitoring).WithLaunchCount(1).WithWarmupCount(0).WithIterationCount(1)
                .WithToolchain(InProcessEmitToolchain.Instance));
            AddColumn(StatisticColumn.Median);
        }
    }

    /// <summary>Which runtime runs the forward.</summary>
    [Params("TorchSharp", "OnnxRuntime")]
    public string Runtime { get; set; } = "TorchSharp";

    /// <summary>Intra-op threads.</summary>
    [Params(2)]
    public int Threads { get; set; }

    private const int Height = 800, Width = 1216;

    [GlobalSetup]
    public void Setup()
    {
        set_num_threads(Threads);
        var network = new Mask2FormerForUniversalSegmentation(Presets.VitAdapterLargeCocoPanoptic());
        network.eval();
        var input = randn(1, 3, Height, Width, generator: new Generator(1));
        if (Runtime == "TorchSharp")
        {
            (_network, _input) = (network, input);
        }
        else
        {
            _folder = Path.Combine(Path.GetTempPath(), "m2f-vit-adapter-l-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(_folder);
            var path = Path.Combine(_folder, "vit-adapter-l.onnx");
            var watch = System.Diagnostics.Stopwatch.StartNew();
            var report = Mask2FormerOnnxExporter.Export(network, path, new OnnxExportOptions());
            Console.WriteLine($"// exported ViT-Adapter-L in {watch.Elapsed.TotalSeconds:F0} s: {report.Nodes} nodes, {report.Bytes / 1e6:F0} MB, external data {report.ExternalDataPath}");
            var data = input.contiguous().data<float>().ToArray();
            network.Dispose();
            input.Dispose();
            var options = new SessionOptions { IntraOpNumThreads = Threads, InterOpNumThreads = 1, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
            // Spinning worker threads starve when anything else runs on a 2-core machine.
            options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
            _session = new InferenceSession(path, options);
            _inputs = [NamedOnnxValue.CreateFromTensor("pixel_values", new DenseTensor<float>(data, [1, 3, Height, Width]))];
        }
        PeakMemory.Reset();
    }

    [Benchmark]
    public float Forward()
    {
        if (_session is not null)
        {
            using var results = _session.Run(_inputs!);
            return results.First().AsTensor<float>().GetValue(0);
        }
        using var noGrad = no_grad();
        using var output = _network!.forward(_input!);
        return output.ClassQueriesLogits[0, 0, 0].item<float>();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        Console.WriteLine($"// ViT-Adapter-L {Runtime} {Height}x{Width}: peak resident memory {PeakMemory.ResidentBytes() / 1e6:F0} MB (process, since setup)");
        _session?.Dispose();
        _input?.Dispose();
        _network?.Dispose();
        if (_folder is not null) Directory.Delete(_folder, recursive: true);
    }
}
