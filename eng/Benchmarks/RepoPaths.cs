namespace Mask2Former.Benchmarks;

/// <summary>Finds the repository root from the benchmark's run folder (BenchmarkDotNet runs from generated sub-folders).</summary>
internal static class RepoPaths
{
    public static string Root
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "Mask2Former.MLNet.sln"))) return dir.FullName;
            for (var dir = new DirectoryInfo(Environment.CurrentDirectory); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "Mask2Former.MLNet.sln"))) return dir.FullName;
            throw new InvalidOperationException("run the benchmarks from inside the repository");
        }
    }

    /// <summary>Where generated data sets are cached between runs (M2F_BENCH_DATA overrides).</summary>
    public static string DataCache =>
        Environment.GetEnvironmentVariable("M2F_BENCH_DATA") is { Length: > 0 } env ? env : Path.Combine(Path.GetTempPath(), "m2f-bench");
}
