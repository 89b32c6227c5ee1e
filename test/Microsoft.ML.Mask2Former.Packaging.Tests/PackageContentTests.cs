using System.IO.Compression;
using System.Reflection.PortableExecutable;
using System.Xml.Linq;
using Microsoft.ML.Mask2Former.Training.Runtime;

namespace Microsoft.ML.Mask2Former.Packaging.Tests;

/// <summary>What `dotnet pack` puts in the packages: metadata, symbols, documentation, dependencies, the tool's natives.</summary>
[TestClass]
public sealed class PackageContentTests
{
    public TestContext TestContext { get; set; } = null!;

    private static XElement Metadata(string package)
    {
        using var zip = ZipFile.OpenRead(package);
        var nuspec = zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal) && !e.FullName.Contains('/'));
        using var stream = nuspec.Open();
        return XDocument.Load(stream).Root!.Elements().Single(e => e.Name.LocalName == "metadata");
    }

    private static string? Value(XElement metadata, string name) => metadata.Elements().FirstOrDefault(e => e.Name.LocalName == name)?.Value;

    private static string[] Entries(string package)
    {
        using var zip = ZipFile.OpenRead(package);
        return zip.Entries.Select(e => e.FullName).ToArray();
    }

    private static Dictionary<string, string> Dependencies(XElement metadata) =>
        metadata.Descendants().Where(e => e.Name.LocalName == "dependency")
            .ToDictionary(e => (string)e.Attribute("id")!, e => (string)e.Attribute("version")!);

    [TestMethod]
    public void PackingMakesTheThreePackagesWithoutAWarning()
    {
        var feed = PackedFeed.Get();
        TestContext.WriteLine($"`{feed.PackResult.Command}`: {feed.PackResult.Elapsed.TotalSeconds:F0} s");
        CollectionAssert.AreEqual(Array.Empty<string>(), feed.PackResult.Warnings, feed.PackResult.Output);
        foreach (var id in PackedFeed.PackageIds) Assert.IsTrue(File.Exists(feed.Package(id)), $"{feed.Package(id)} was not made");
    }

    [TestMethod]
    public void EveryPackageHasLicenceReadmeRepositoryAndDescription()
    {
        var feed = PackedFeed.Get();
        foreach (var id in PackedFeed.PackageIds)
        {
            var metadata = Metadata(feed.Package(id));
            var license = metadata.Elements().Single(e => e.Name.LocalName == "license");
            Assert.AreEqual(("expression", "MIT"), ((string?)license.Attribute("type"), license.Value), id);
            Assert.AreEqual("README.md", Value(metadata, "readme"), id);
            CollectionAssert.Contains(Entries(feed.Package(id)), "README.md", id);
            var repository = metadata.Elements().Single(e => e.Name.LocalName == "repository");
            Assert.AreEqual("git", (string?)repository.Attribute("type"), id);
            StringAssert.Matches((string?)repository.Attribute("commit"), new System.Text.RegularExpressions.Regex("^[0-9a-f]{40}$"), id);
            Assert.IsFalse(string.IsNullOrWhiteSpace(Value(metadata, "description")), id);
            Assert.IsFalse(string.IsNullOrWhiteSpace(Value(metadata, "authors")), id);
        }
    }

    [TestMethod]
    public void TheNativeEvaluatorPackageHoldsTheExecutableAndTheOneLibraryItLoads()
    {
        var feed = PackedFeed.Get();
        var package = feed.Package("m2f-eval.linux-x64");
        var tools = Entries(package).Where(e => e.StartsWith("tools/", StringComparison.Ordinal)).Select(e => e[(e.LastIndexOf('/') + 1)..]).Order(StringComparer.Ordinal).ToArray();
        CollectionAssert.AreEqual(new[] { "DotnetToolSettings.xml", "libSkiaSharp.so", "m2f-eval" }, tools, string.Join(", ", tools));
        using var zip = ZipFile.OpenRead(package);
        var executable = zip.Entries.Single(e => e.Name == "m2f-eval");
        using var s = executable.Open();
        var magic = new byte[4];
        s.ReadExactly(magic);
        CollectionAssert.AreEqual(new byte[] { 0x7F, (byte)'E', (byte)'L', (byte)'F' }, magic, "m2f-eval is a native executable");
    }

    [TestMethod]
    public void LibrariesShipDocumentationSymbolsAndDeterministicAssemblies()
    {
        var feed = PackedFeed.Get();
        foreach (var id in new[] { "Microsoft.ML.Mask2Former", "Microsoft.ML.Mask2Former.Training" })
        {
            var entries = Entries(feed.Package(id));
            CollectionAssert.Contains(entries, $"lib/net10.0/{id}.dll");
            CollectionAssert.Contains(entries, $"lib/net10.0/{id}.xml", "XML documentation");
            CollectionAssert.Contains(Entries(feed.Package(id, symbols: true)), $"lib/net10.0/{id}.pdb");
            using var zip = ZipFile.OpenRead(feed.Package(id));
            using var dll = new MemoryStream();
            using (var s = zip.GetEntry($"lib/net10.0/{id}.dll")!.Open()) s.CopyTo(dll);
            dll.Position = 0;
            using var pe = new PEReader(dll);
            Assert.IsTrue(pe.ReadDebugDirectory().Any(d => d.Type == DebugDirectoryEntryType.Reproducible), $"{id}.dll is not a deterministic build");
        }
        CollectionAssert.Contains(Entries(feed.Package("m2f.linux-x64", symbols: true)), "tools/net10.0/linux-x64/m2f.pdb");
    }

    [TestMethod]
    public void DependenciesAreTheServedVersionsAndLeaveLibtorchToTheApplication()
    {
        var feed = PackedFeed.Get();
        var library = Dependencies(Metadata(feed.Package("Microsoft.ML.Mask2Former")));
        Assert.AreEqual("6.0.0", library["Microsoft.ML"]);
        Assert.AreEqual("6.0.0", library["Microsoft.ML.ImageAnalytics"]);
        Assert.AreEqual("6.0.0", library["Microsoft.ML.OnnxTransformer"]);
        Assert.AreEqual("1.32.0", library["Microsoft.ML.OnnxRuntime"]);
        Assert.IsFalse(library.Keys.Any(k => k.StartsWith("TorchSharp", StringComparison.Ordinal)), "scoring users never pay for TorchSharp");

        var training = Dependencies(Metadata(feed.Package("Microsoft.ML.Mask2Former.Training")));
        Assert.AreEqual(feed.Version, training["Microsoft.ML.Mask2Former"]);
        Assert.AreEqual("0.107.0", training["TorchSharp"]);
        Assert.IsFalse(training.Keys.Any(k => k.StartsWith("libtorch", StringComparison.Ordinal)), "the native libtorch is the application's choice");
        Assert.IsFalse(training.ContainsKey("Grpc.Tools"), "a build-time tool is not a dependency");
        CollectionAssert.IsSubsetOf(new[] { "buildTransitive/Microsoft.ML.Mask2Former.Training.targets", "buildTransitive/GlibcxxVersionFix.cs" },
            Entries(feed.Package("Microsoft.ML.Mask2Former.Training")), "the libstdc++ fix for applications");

        Assert.AreEqual(0, Dependencies(Metadata(feed.Package("m2f"))).Count);
        Assert.AreEqual(0, Dependencies(Metadata(feed.Package("m2f.linux-x64"))).Count);
    }

    [TestMethod]
    public void TheToolCarriesLibtorchBesideLibTorchSharpLoadableOnOlderHosts()
    {
        var feed = PackedFeed.Get();
        const string folder = "tools/net10.0/linux-x64/";
        var entries = Entries(feed.Package("m2f.linux-x64"));
        // m2f-eval: the evaluators compiled with Native AOT, which `m2f eval` hands over to.
        foreach (var native in new[] { "libLibTorchSharp.so", "libtorch.so", "libtorch_cpu.so", "libc10.so", "libonnxruntime.so", "libSkiaSharp.so", "m2f.dll", "m2f-eval" })
            CollectionAssert.Contains(entries, folder + native);
        using var zip = ZipFile.OpenRead(feed.Package("m2f.linux-x64"));
        using var bytes = new MemoryStream();
        using (var s = zip.GetEntry(folder + "libLibTorchSharp.so")!.Open()) s.CopyTo(bytes);
        Assert.AreEqual(0, GlibcxxVersionFix.MarkWeak(bytes.ToArray(), GlibcxxVersionFix.VersionName),
            $"the tool's libLibTorchSharp.so still requires {GlibcxxVersionFix.VersionName} strictly (Debian 12 and Ubuntu 22.04 would not load it)");
        var pointer = Entries(feed.Package("m2f"));
        CollectionAssert.Contains(pointer, "tools/any/any/DotnetToolSettings.xml");
        Assert.IsFalse(pointer.Any(e => e.EndsWith(".dll", StringComparison.Ordinal)), "the m2f package only points to m2f.linux-x64");
    }
}
