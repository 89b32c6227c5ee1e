using System.Reflection;

namespace Microsoft.ML.Mask2Former.Testing;

/// <summary>
/// Locates the repository and the shared reference data (../shared/reference beside the clone),
/// and makes temporary folders; compiled into every test project (linked from test/Shared).
/// </summary>
internal static class TestPaths
{
    private static readonly Lazy<string> Root = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Mask2Former.MLNet.sln"))) return dir.FullName;
        }
        var built = typeof(TestPaths).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "RepoRoot")?.Value;
        if (built is not null && File.Exists(Path.Combine(built, "Mask2Former.MLNet.sln"))) return built;
        throw new InvalidOperationException("Cannot find Mask2Former.MLNet.sln above " + AppContext.BaseDirectory);
    });

    /// <summary>The repository root (the folder holding the .sln).</summary>
    public static string RepoRoot => Root.Value;

    /// <summary>../shared/reference relative to the repository root; M2F_REFERENCE overrides it.</summary>
    public static string Reference =>
        Environment.GetEnvironmentVariable("M2F_REFERENCE") is { Length: > 0 } env
            ? env
            : Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared", "reference"));

    /// <summary>One of the evaluation cases: "synth" or "sample".</summary>
    public static string EvaluationCase(string name) => Path.Combine(Reference, "evaluation", name);

    /// <summary>A file of the reference model folder (../shared/reference/model).</summary>
    public static string Model(string file) => Path.Combine(Reference, "model", file);

    // One temporary root per test assembly, so a project's leftovers are easy to find.
    private static readonly string TempRoot = "m2f-" + typeof(TestPaths).Assembly.GetName().Name!.Replace("Microsoft.ML.Mask2Former.", "", StringComparison.Ordinal).Replace('.', '-').ToLowerInvariant();

    /// <summary>A fresh, empty temporary folder for one test.</summary>
    public static string NewTempFolder()
    {
        var dir = Path.Combine(Path.GetTempPath(), TempRoot, Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }
}
