using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.ML.Mask2Former.Scoring;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Mask2Former.Benchmarks;

/// <summary>
/// <c>-- onnx-side-by-side HxW RUNS MODEL...</c>: times several ONNX models on the same random input
/// in one process, alternating them round by round (so a change in the machine's load hits all of
/// them alike), with the sessions the product builds (<see cref="OnnxSessionSettings"/>), then
/// runs each once more under ONNX Runtime's profiler and prints the operator types that take the
/// most time. BenchmarkDotNet's 15-run jobs take too long at 800×1216 on two shared cores.
/// </summary>
internal static class OnnxSideBySide
{
    public static void Run(string size, int runs, IReadOnlyList<string> models)
    {
        var hw = size.Split('x').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        var rng = new Random(1);
        var data = new float[3 * hw[0] * hw[1]];
        for (var i = 0; i < data.Length; i++) data[i] = (float)(rng.NextDouble() * 4 - 2);
        var input = new DenseTensor<float>(data, [1, 3, hw[0], hw[1]]);
        var times = models.Select(_ => new List<double>()).ToArray();
        var sessions = models.Select(m => new InferenceSession(m, OnnxSessionSettings.Create(2))).ToArray();
        try
        {
            Console.WriteLine($"// {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, load average {LoadAverage()}, {size}, {runs} timed runs each after one warm-up");
            for (var round = -1; round < runs; round++)
            {
                for (var m = 0; m < models.Count; m++)
                {
                    var watch = Stopwatch.StartNew();
                    using (sessions[m].Run([NamedOnnxValue.CreateFromTensor("pixel_values", input)])) { }
                    if (round >= 0) times[m].Add(watch.Elapsed.TotalSeconds);
                }
            }
            for (var m = 0; m < models.Count; m++)
            {
                var sorted = times[m].Order().ToArray();
                Console.WriteLine($"{Path.GetFileName(models[m])}: median {sorted[sorted.Length / 2]:F3} s (min {sorted[0]:F3}, max {sorted[^1]:F3})");
            }
            Console.WriteLine($"// load average after timing {LoadAverage()}");
        }
        finally
        {
            foreach (var s in sessions) s.Dispose();
        }
        // M2F_PROFILE=0 skips the profiled runs.
        if (Environment.GetEnvironmentVariable("M2F_PROFILE") != "0")
            foreach (var model in models) Profile(model, input);
    }

    private static void Profile(string model, DenseTensor<float> input)
    {
        using var options = OnnxSessionSettings.Create(2);
        options.EnableProfiling = true;
        options.ProfileOutputPathPrefix = Path.Combine(Path.GetTempPath(), "m2f-ort-profile");
        string file;
        using (var session = new InferenceSession(model, options))
        {
            // The first run grows the memory arena: profile the second.
            for (var i = 0; i < 2; i++)
                using (session.Run([NamedOnnxValue.CreateFromTensor("pixel_values", input)])) { }
            file = session.EndProfiling();
        }
        var perOp = new Dictionary<string, (double Us, int Calls)>();
        double lastRunSeconds;
        using (var doc = JsonDocument.Parse(File.ReadAllText(file)))
        {
            var lastRun = doc.RootElement.EnumerateArray().Last(e => e.GetProperty("name").GetString() == "model_run");
            var start = lastRun.GetProperty("ts").GetDouble();
            lastRunSeconds = lastRun.GetProperty("dur").GetDouble() / 1e6;
            foreach (var e in doc.RootElement.EnumerateArray())
            {
                if (e.GetProperty("ts").GetDouble() < start) continue;
                if (e.GetProperty("cat").GetString() != "Node" || !e.GetProperty("name").GetString()!.EndsWith("_kernel_time", StringComparison.Ordinal)) continue;
                var op = e.GetProperty("args").GetProperty("op_name").GetString()!;
                var (us, calls) = perOp.GetValueOrDefault(op);
                perOp[op] = (us + e.GetProperty("dur").GetDouble(), calls + 1);
            }
        }
        if (Environment.GetEnvironmentVariable("M2F_KEEP_PROFILE") is not { Length: > 0 }) File.Delete(file);
        else Console.WriteLine($"// profile kept: {file}");
        var total = perOp.Values.Sum(v => v.Us);
        Console.WriteLine($"profile {Path.GetFileName(model)} (second run {lastRunSeconds:F2} s): kernels {total / 1e6:F2} s");
        foreach (var (op, (us, calls)) in perOp.OrderByDescending(p => p.Value.Us).Take(12))
            Console.WriteLine($"  {op,-28} {us / 1e6,6:F3} s  {calls,5} calls");
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";
}
