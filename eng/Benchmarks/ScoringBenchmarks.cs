using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Engines;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Mask2Former.Data;
using Microsoft.ML.Mask2Former;
using Microsoft.ML.Mask2Former.PostProcessing;
using Microsoft.ML.Mask2Former.Scoring;
using Microsoft.ML.Mask2Former.Synthetic;
using Microsoft.ML.Mask2Former.Training.Export;
using Microsoft.ML.Mask2Former.Training.Modeling;

namespace Mask2Former.Benchmarks;

/// <summary>
/// Scoring costs: the ML.NET pipeline (LoadImages → SegmentPanoptic) against a bare
/// <see cref="Mask2FormerPredictor"/> (InferenceSession.Run + the same pre- and post-processing) on
/// the same exported model and images, and post-processing alone for a full-size model output
/// (100 queries × 134 classes, 800×1216 image).
/// </summary>
[Config(typeof(ScoringBenchmarks.Monitoring))]
public class ScoringBenchmarks
{
    /// <summary>
    /// <see cref="InProcessMonitoring"/> with 6 warm-up and 15 measured runs. A fresh ONNX Runtime
    /// session runs its first 80–200 images 20–40 % slower than later ones (the pipeline's
    /// longer than the bare session's), so with 1 warm-up run the pipeline's first measured runs
    /// were still warming up; and the two paths are measured one after the other on a machine whose
    /// load comes and goes, where a median of 5 moved by ±15 % between runs.
    /// </summary>
    public sealed class Monitoring : ManualConfig
    {
        /// <summary>Creates the configuration.</summary>
        public Monitoring()
        {
            AddJob(Job.Default.WithStrategy(RunStrategy.Monitoring).WithLaunchCount(1).WithWarmupCount(6).WithIterationCount(15)
                .WithToolchain(InProcessEmitToolchain.Instance));
            AddColumn(StatisticColumn.Median);
        }
    }

    private const int Images = 40;
    private string _model = null!;
    private string[] _files = null!;
    private Mask2FormerPredictor _predictor = null!;
    private MLContext _ml = null!;
    private IDataView _data = null!;
    private ITransformer _pipeline = null!;
    private float[] _classes = null!;
    private float[] _masks = null!;

    private sealed class Row
    {
        public string ImagePath { get; set; } = "";
    }

    [GlobalSetup]
    public void Setup()
    {
        var folder = Path.Combine(RepoPaths.DataCache, "scoring");
        _model = Path.Combine(folder, "small-128.onnx");
        if (!File.Exists(_model))
        {
            Directory.CreateDirectory(folder);
            using var network = new Mask2FormerForUniversalSegmentation(Presets.Small(SyntheticPanopticDataset.Categories.Count));
            Mask2FormerOnnxExporter.Export(network, _model, new OnnxExportOptions { FixedHeight = 128, FixedWidth = 128, ObjectMaskThreshold = 0.0 });
        }
        var images = Path.Combine(folder, "images");
        if (!File.Exists(Path.Combine(images, "panoptic.json")))
            SyntheticPanopticDataset.Generate(images, new SyntheticPanopticOptions { ImageCount = Images, Width = 160, Height = 120, Seed = 3 });
        _files = Directory.GetFiles(Path.Combine(images, "images")).Order(StringComparer.Ordinal).ToArray();
        _predictor = new Mask2FormerPredictor(new Mask2FormerPredictorOptions { ModelPath = _model, IntraOpNumThreads = 2 });
        _ml = new MLContext(seed: 1);
        _data = _ml.Data.LoadFromEnumerable(_files.Select(f => new Row { ImagePath = f }).ToArray());
        _pipeline = _ml.Transforms.LoadImages("Image", null, nameof(Row.ImagePath))
            .Append(_ml.Transforms.SegmentPanoptic(new SegmentPanopticOptions { ModelPath = _model, IntraOpNumThreads = 2 }))
            .Fit(_data);
        // Both paths run before anything is measured: BenchmarkDotNet measures the pipeline first, which
        // otherwise alone pays for the JIT's tiering of the code both paths share (letterbox,
        // post-processing).
        for (var i = 0; i < 2; i++)
        {
            Pipeline();
            PipelineUnsplitCursor();
            BareSession();
        }

        // A full-size output: 100 queries × (133 + 1) classes, masks at a quarter of 800×1216; 20 confident queries.
        var random = new Random(5);
        _classes = new float[100 * 134];
        for (var q = 0; q < 100; q++)
        {
            for (var k = 0; k < 134; k++) _classes[q * 134 + k] = (float)(random.NextDouble() * 2 - 1);
            _classes[q * 134 + (q < 20 ? q * 7 % 133 : 133)] = 9f;
        }
        _masks = new float[100 * 200 * 304];
        for (var q = 0; q < 100; q++)
        {
            double cy = random.Next(200), cx = random.Next(304), r = 20 + random.Next(60);
            for (var y = 0; y < 200; y++)
                for (var x = 0; x < 304; x++)
                    _masks[(q * 200 + y) * 304 + x] = (float)((r - Math.Sqrt((y - cy) * (y - cy) + (x - cx) * (x - cx))) / 8);
        }
    }

    /// <summary>The 40 images through the ML.NET pipeline (a cursor reading each segment map).</summary>
    [Benchmark]
    public long Pipeline()
    {
        var scored = _pipeline.Transform(_data);
        long pixels = 0;
        using var cursor = scored.GetRowCursor([scored.Schema[PanopticColumnNames.PredictedSegmentMap]]);
        var getter = cursor.GetGetter<VBuffer<uint>>(scored.Schema[PanopticColumnNames.PredictedSegmentMap]);
        VBuffer<uint> map = default;
        while (cursor.MoveNext())
        {
            getter(ref map);
            pixels += map.Length;
        }
        return pixels;
    }

    /// <summary>
    /// The same pipeline, read through a cursor that also asks for the image column. An <c>MLImage</c>
    /// column cannot be cached, so ML.NET does not split this cursor across threads; the default
    /// cursor (<see cref="Pipeline"/>) hands rows to worker threads in batches of up to 128 and merges
    /// them back in batches of 64, which for 40 rows is one batch on one worker: the difference between
    /// the two is ML.NET's cursor threading, this one against <see cref="BareSession"/> is the
    /// pipeline's own overhead.
    /// </summary>
    [Benchmark]
    public long PipelineUnsplitCursor()
    {
        var scored = _pipeline.Transform(_data);
        long pixels = 0;
        using var cursor = scored.GetRowCursor([scored.Schema[PanopticColumnNames.PredictedSegmentMap], scored.Schema["Image"]]);
        var getter = cursor.GetGetter<VBuffer<uint>>(scored.Schema[PanopticColumnNames.PredictedSegmentMap]);
        VBuffer<uint> map = default;
        while (cursor.MoveNext())
        {
            getter(ref map);
            pixels += map.Length;
        }
        return pixels;
    }

    /// <summary>The same 40 images through a bare InferenceSession with the same pre- and post-processing.</summary>
    [Benchmark(Baseline = true)]
    public long BareSession()
    {
        long pixels = 0;
        foreach (var file in _files)
        {
            using var image = MLImage.CreateFromFile(file);
            pixels += _predictor.PredictPanoptic(image).SegmentIds.Length;
        }
        return pixels;
    }

    /// <summary>detectron2 panoptic post-processing of one full-size output (upsampling to 800×1216 included).</summary>
    [Benchmark]
    public int PostProcessing800x1216()
    {
        var logits = new Mask2FormerLogits(_classes, _masks, 100, 133, 200, 304);
        return Mask2FormerPostProcessor.Panoptic(logits, new ImageGeometry(800, 1216, 800, 1216, 800, 1216), new PanopticOptions()).Segments.Length;
    }

    /// <summary>The same output through mmdetection's fusion head (<c>filter_low_score</c>), converted to segment ids.</summary>
    [Benchmark]
    public int MmDetectionPostProcessing800x1216()
    {
        var logits = new Mask2FormerLogits(_classes, _masks, 100, 133, 200, 304);
        return MmDetectionPostProcessor.Panoptic(logits, new ImageGeometry(800, 1216, 800, 1216, 800, 1216), new MmDetectionOptions { FilterLowScore = true })
            .ToPanopticResult().Segments.Length;
    }

    [GlobalCleanup]
    public void Cleanup() => _predictor.Dispose();

    /// <summary>
    /// Resident memory while 2,000 images stream through the pipeline (the 40 images 50 times), sampled
    /// every 250 rows: <c>dotnet run -c Release --project eng/Benchmarks -- scoring-memory</c>.
    /// </summary>
    public static void MemoryOverTwoThousandImages()
    {
        var bench = new ScoringBenchmarks();
        bench.Setup();
        var rows = Enumerable.Range(0, 2000).Select(i => new Row { ImagePath = bench._files[i % bench._files.Length] }).ToArray();
        var data = bench._ml.Data.LoadFromEnumerable(rows);
        var scored = bench._pipeline.Transform(data);
        using var cursor = scored.GetRowCursor([scored.Schema[PanopticColumnNames.PredictedSegmentMap]]);
        var getter = cursor.GetGetter<VBuffer<uint>>(scored.Schema[PanopticColumnNames.PredictedSegmentMap]);
        VBuffer<uint> map = default;
        var watch = Stopwatch.StartNew();
        var n = 0;
        while (cursor.MoveNext())
        {
            getter(ref map);
            if (++n % 250 == 0)
            {
                using var process = Process.GetCurrentProcess();
                Console.WriteLine($"{n,5} images  {watch.Elapsed.TotalSeconds,6:F1} s  resident {process.WorkingSet64 / 1e6,6:F0} MB  managed {GC.GetTotalMemory(false) / 1e6,5:F0} MB");
            }
        }
        bench.Cleanup();
    }
}
