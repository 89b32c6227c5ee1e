using BenchmarkDotNet.Attributes;
using Microsoft.ML.Mask2Former.Formats;
using SkiaSharp;

namespace Mask2Former.Benchmarks;

/// <summary>
/// Decoding the evaluation set's 4,000 panoptic PNGs (2,000 ground truth + 2,000 predictions,
/// 640×480 RGB) to segment ids, <c>R + 256·G + 65536·B</c>, on one thread: our streaming
/// <see cref="PngRowReader"/> (one row buffer, CRC of every chunk checked) against SkiaSharp's
/// decoder (libpng inside Skia; whole image decoded into a bitmap, then converted). Both sum the
/// ids so neither result can be skipped.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(InProcessMonitoring))]
public class PngDecodeBenchmarks
{
    private string[] _files = [];

    [GlobalSetup]
    public void Setup()
    {
        var set = EvaluationSet.Ensure(Path.Combine(RepoPaths.DataCache, "eval-2000"), 2000);
        _files = [.. Directory.GetFiles(set.GtFolder, "*.png").Order(), .. Directory.GetFiles(set.PredFolder, "*.png").Order()];
    }

    /// <summary>Our reader, a row at a time, as the PQ evaluator consumes it.</summary>
    [Benchmark(Baseline = true)]
    public long PngRowReaderRows()
    {
        long sum = 0;
        var ids = new uint[EvaluationSet.DefaultWidth];
        foreach (var file in _files)
        {
            using var reader = PngRowReader.Open(file);
            for (var y = 0; y < reader.Height; y++)
            {
                reader.ReadIdRow(ids);
                for (var x = 0; x < reader.Width; x++) sum += ids[x];
            }
        }
        return sum;
    }

    /// <summary>SkiaSharp: the whole image into an RGBA buffer through its codec, then ids from the pixels.</summary>
    [Benchmark]
    public long SkiaSharpCodec()
    {
        long sum = 0;
        byte[] pixels = [];
        foreach (var file in _files)
        {
            using var codec = SKCodec.Create(file) ?? throw new InvalidDataException($"SkiaSharp could not open {file}");
            var info = codec.Info.WithColorType(SKColorType.Rgba8888).WithAlphaType(SKAlphaType.Unpremul);
            if (pixels.Length < info.BytesSize) pixels = new byte[info.BytesSize];
            if (codec.GetPixels(info, pixels) != SKCodecResult.Success) throw new InvalidDataException($"SkiaSharp could not decode {file}");
            for (var i = 0; i < info.BytesSize; i += 4) sum += pixels[i] + 256u * pixels[i + 1] + 65536u * pixels[i + 2];
        }
        return sum;
    }
}
