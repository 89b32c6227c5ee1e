using System.Text.RegularExpressions;

namespace Microsoft.ML.Mask2Former.Packaging.Tests;

/// <summary>
/// The packages under test: <c>dotnet pack Mask2Former.Packages.slnf</c> into a folder feed, once per
/// test run, in a temporary folder that also holds everything the tests build and install. A
/// NuGet.config there makes restores below it take the packed packages from the feed into a private
/// packages folder, and every other package from the user's NuGet cache (as a fallback folder), so
/// the cache never holds a copy of the packages under test and nothing is downloaded twice.
/// </summary>
internal sealed partial class PackedFeed
{
    /// <summary>The package ids `dotnet pack` must produce.</summary>
    public static readonly string[] PackageIds = ["Microsoft.ML.Mask2Former", "Microsoft.ML.Mask2Former.Training", "m2f", "m2f.linux-x64", "m2f-eval", "m2f-eval.linux-x64"];

    private static readonly Lazy<PackedFeed> Instance = new(Pack, LazyThreadSafetyMode.ExecutionAndPublication);

    private PackedFeed(string root, string feed, string version, ProcessResult pack)
    {
        Root = root;
        Feed = feed;
        Version = version;
        PackResult = pack;
    }

    /// <summary>The packed feed, packing on first use.</summary>
    public static PackedFeed Get() => Instance.Value;

    /// <summary>Whether a test packed already (for the clean-up).</summary>
    public static bool Created => Instance.IsValueCreated;

    /// <summary>The temporary folder of this run; its NuGet.config applies to every project below it.</summary>
    public string Root { get; }

    /// <summary>The folder feed with the .nupkg and .snupkg files.</summary>
    public string Feed { get; }

    /// <summary>The version of the packed packages.</summary>
    public string Version { get; }

    /// <summary>The `dotnet pack` run.</summary>
    public ProcessResult PackResult { get; }

    /// <summary>Where restores below <see cref="Root"/> put the packed packages.</summary>
    public string Packages => Path.Combine(Root, "packages");

    /// <summary>The NuGet.config of <see cref="Root"/>.</summary>
    public string NuGetConfig => Path.Combine(Root, "NuGet.config");

    /// <summary>The user's NuGet cache, used as the fallback folder (read before any test points NUGET_PACKAGES elsewhere).</summary>
    public static readonly string UserPackages = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } p
        ? p
        : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");

    /// <summary>The path of a packed file in the feed.</summary>
    public string Package(string id, bool symbols = false) => Path.Combine(Feed, $"{id}.{Version}.{(symbols ? "snupkg" : "nupkg")}");

    /// <summary>A fresh folder under <see cref="Root"/>.</summary>
    public string NewFolder(string name)
    {
        var folder = Path.Combine(Root, name);
        if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        Directory.CreateDirectory(folder);
        return folder;
    }

    [GeneratedRegex(@"^Microsoft\.ML\.Mask2Former\.(?<version>\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?)\.nupkg$")]
    private static partial Regex LibraryPackage();

    private static PackedFeed Pack()
    {
        var root = Path.Combine(Path.GetTempPath(), "m2f-packaging-tests", Guid.NewGuid().ToString("N"));
        var feed = Path.Combine(root, "feed");
        Directory.CreateDirectory(feed);
        var pack = ProcessRunner.DotNet(TestPaths.RepoRoot, ["pack", "Mask2Former.Packages.slnf", "-c", "Release", "-o", feed], TimeSpan.FromMinutes(12)).Succeeded();
        var version = Directory.EnumerateFiles(feed).Select(f => LibraryPackage().Match(Path.GetFileName(f))).FirstOrDefault(m => m.Success)?.Groups["version"].Value
            ?? throw new AssertFailedException($"`{pack.Command}` made no Microsoft.ML.Mask2Former package:\n{pack.Output}");

        // A copy of a package under test in the NuGet cache would win over the feed.
        var stale = PackageIds.Select(id => Path.Combine(UserPackages, id.ToLowerInvariant(), version)).Where(Directory.Exists).ToList();
        if (stale.Count > 0)
            throw new AssertFailedException($"the NuGet cache holds {string.Join(", ", stale)}, which would shadow the packages under test: delete {(stale.Count == 1 ? "it" : "them")}");

        File.WriteAllText(Path.Combine(root, "NuGet.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <config>
                <add key="globalPackagesFolder" value="{Path.Combine(root, "packages")}" />
              </config>
              <packageSources>
                <clear />
                <add key="packed" value="{feed}" />
                <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
              </packageSources>
              <fallbackPackageFolders>
                <clear />
                <add key="cache" value="{UserPackages}" />
              </fallbackPackageFolders>
            </configuration>
            """);
        return new PackedFeed(root, feed, version, pack);
    }

    /// <summary>Removes the run's folder (feed, packages, applications, installed tool), unless M2F_KEEP_PACKAGING_TESTS is set.</summary>
    public static void Delete()
    {
        if (!Created || Environment.GetEnvironmentVariable("M2F_KEEP_PACKAGING_TESTS") is { Length: > 0 }) return;
        try
        {
            Directory.Delete(Get().Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
