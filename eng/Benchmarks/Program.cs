using BenchmarkDotNet.Running;

namespace Mask2Former.Benchmarks;

/// <summary>
/// Runs the benchmarks: <c>dotnet run -c Release --project eng/Benchmarks -- --filter '*Panoptic*'</c>
/// (any BenchmarkDotNet arguments). Data sets are generated once into <see cref="RepoPaths.DataCache"/>.
/// </summary>
public static class Program
{
    public static void Main(string[] args)
    {
        if (args is ["scoring-memory"])
        {
            ScoringBenchmarks.MemoryOverTwoThousandImages();
            return;
        }
        if (args is ["export-swin-t"] or ["export-swin-t", "int8"])
        {
            OnnxExportBenchmarks.EnsureSwinTiny(args.Length > 1 ? Microsoft.ML.Mask2Former.Training.Export.OnnxQuantization.DynamicInt8 : Microsoft.ML.Mask2Former.Training.Export.OnnxQuantization.None);
            return;
        }
        if (args is ["onnx-side-by-side", var size, var runs, .. var models] && models.Length > 0)
        {
            OnnxSideBySide.Run(size, int.Parse(runs, System.Globalization.CultureInfo.InvariantCulture), models);
            return;
        }
        if (args is ["eval-set", var folder, .. var rest] && rest.Length <= 1)
        {
            // For eng/ProcessBenchmarks/run.sh: the same set the in-process evaluation benchmarks use, in a folder of the caller's choice.
            var set = EvaluationSet.Ensure(Path.GetFullPath(folder), rest.Length == 1 ? int.Parse(rest[0], System.Globalization.CultureInfo.InvariantCulture) : 2000);
            Console.WriteLine(set.Folder);
            return;
        }
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
    }
}
