
namespace Microsoft.ML.Mask2Former.Packaging.Tests;

/// <summary>
/// What the consumer tests share, each made once per run on first use: the application built from
/// the packages (Consumers/App), m2f installed with `dotnet tool install`, synthetic COCO panoptic
/// data, and a model trained and exported by the installed m2f.
/// </summary>
internal static class Consumers
{
    private static readonly TimeSpan BuildLimit = TimeSpan.FromMinutes(6);
    private static readonly TimeSpan RunLimit = TimeSpan.FromMinutes(4);

    private static readonly Lazy<BuiltApp> LazyApp = new(() => Build("App", Path.Combine("bin", "Release", "net10.0", "linux-x64", "App")), LazyThreadSafetyMode.ExecutionAndPublication);
    private static readonly Lazy<string> LazyTool = new(() => Install("m2f"), LazyThreadSafetyMode.ExecutionAndPublication);
    private static readonly Lazy<string> LazyEvalTool = new(() => Install("m2f-eval"), LazyThreadSafetyMode.ExecutionAndPublication);
    private static readonly Lazy<string> LazyData = new(Synthesize, LazyThreadSafetyMode.ExecutionAndPublication);
    private static readonly Lazy<string> LazyModel = new(TrainAndExport, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>An application built from Consumers/&lt;name&gt; against the packed packages.</summary>
    internal sealed record BuiltApp(string Folder, string Executable, ProcessResult Build);

    /// <summary>The application with both libraries and the CPU libtorch.</summary>
    public static BuiltApp App => LazyApp.Value;

    /// <summary>The installed m2f command.</summary>
    public static string Tool => LazyTool.Value;

    /// <summary>The installed m2f-eval command (Native AOT).</summary>
    public static string EvalTool => LazyEvalTool.Value;

    /// <summary>train/, val/ (COCO panoptic, 64×64) and labels.json (the categories, thresholds 0).</summary>
    public static string Data => LazyData.Value;

    /// <summary>A small Mask2Former trained for two steps by the installed m2f and exported at 64×64.</summary>
    public static string Model => LazyModel.Value;

    /// <summary>Copies Consumers/ out of the repository, fills in the packed version and builds <paramref name="name"/>.</summary>
    public static BuiltApp Build(string name, string executable)
    {
        var feed = PackedFeed.Get();
        var source = Path.Combine(TestPaths.RepoRoot, "test", "Microsoft.ML.Mask2Former.Packaging.Tests", "Consumers");
        var consumers = Path.Combine(feed.Root, "consumers");
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(consumers, Path.GetRelativePath(source, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.WriteAllText(target, File.ReadAllText(file).Replace("@VERSION@", feed.Version, StringComparison.Ordinal));
        }
        var folder = Path.Combine(consumers, name);
        var build = ProcessRunner.DotNet(folder, ["build", "-c", "Release"], BuildLimit).Succeeded();
        return new BuiltApp(folder, Path.Combine(folder, executable), build);
    }

    /// <summary>Runs an application or the installed tool, failing the test on a non-zero exit.</summary>
    public static ProcessResult Run(string program, params string[] arguments) =>
        ProcessRunner.Run(program, PackedFeed.Get().Root, arguments, RunLimit).Succeeded();

    private static string Install(string id)
    {
        var feed = PackedFeed.Get();
        var tools = feed.NewFolder("tools-" + id);
        ProcessRunner.DotNet(feed.Root, ["tool", "install", id, "--tool-path", tools, "--version", feed.Version, "--configfile", feed.NuGetConfig],
            RunLimit, new Dictionary<string, string> { ["NUGET_PACKAGES"] = feed.Packages }).Succeeded();
        return Path.Combine(tools, id);
    }

    private static string Synthesize()
    {
        var data = PackedFeed.Get().NewFolder("data");
        Run(App.Executable, "synth", data);
        return data;
    }

    private static string TrainAndExport()
    {
        var run = Path.Combine(PackedFeed.Get().NewFolder("run"), "small");
        Run(Tool, "train", "--data", Path.Combine(Data, "train"), "--config", "small", "--steps", "2", "--batch", "2", "--size", "64",
            "--out", run, "--checkpoint-every", "2", "--report-every", "1");
        var model = Path.Combine(PackedFeed.Get().Root, "run", "small.onnx");
        Run(Tool, "export", "--model", run, "--out", model, "--fixed", "64x64");
        return model;
    }
}
