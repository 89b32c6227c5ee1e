using System.Text;
using System.Text.RegularExpressions;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Commands;
using Microsoft.DotNet.Interactive.CSharp;
using Microsoft.DotNet.Interactive.Documents.Jupyter;
using Microsoft.DotNet.Interactive.Events;
using Microsoft.DotNet.Interactive.PackageManagement;

namespace Microsoft.ML.Mask2Former.Packaging.Tests;

/// <summary>
/// Every notebook under samples/Notebooks, run as Polyglot Notebooks runs it: parsed with .NET
/// Interactive's Documents library, every code cell submitted in order to its C# kernel (with #r
/// "nuget:" package restore) in the notebook's folder. The notebooks name the packages as a user
/// would; the test adds one #i line for the feed of the packed packages (a user's NuGet.config or
/// nuget.org would serve them), and restores into the run's private packages folder. A cell that
/// fails (compile error, exception, restore failure) fails the test with the notebook, the cell
/// number and the kernel's message.
/// </summary>
[TestClass]
public sealed partial class NotebookTests
{
    public TestContext TestContext { get; set; } = null!;

    private static string NotebookFolder => Path.Combine(TestPaths.RepoRoot, "samples", "Notebooks");

    public static IEnumerable<object[]> Notebooks() =>
        Directory.EnumerateFiles(NotebookFolder, "*.ipynb").Order(StringComparer.Ordinal).Select(p => new object[] { Path.GetFileName(p) });

    [GeneratedRegex("""^\s*#r\s+"nuget:\s*(?<name>[^,"]+?)\s*,\s*(?<version>[^"]+?)\s*"\s*$""", RegexOptions.Multiline)]
    private static partial Regex PackageDirective();

    [TestMethod]
    public void TheNotebooksCoverScoringEvaluationAndFineTuning()
    {
        var names = Notebooks().Select(n => (string)n[0]).ToArray();
        CollectionAssert.IsSubsetOf(new[] { "Evaluation.ipynb", "Scoring.ipynb", "FineTuning.ipynb" }, names, string.Join(", ", names));
    }

    [TestMethod]
    public void TheNotebooksReferenceThePackagesAtTheirVersions()
    {
        var version = PackedFeed.Get().Version;
        foreach (var notebook in Notebooks().Select(n => (string)n[0]))
        {
            var text = File.ReadAllText(Path.Combine(NotebookFolder, notebook));
            Assert.IsFalse(text.Contains(".dll\\\"", StringComparison.Ordinal), $"{notebook} references a built assembly instead of a package");
            var packages = PackageDirective().Matches(string.Concat(Notebook.Parse(text).Elements.Select(e => e.Contents + "\n")))
                .ToDictionary(m => m.Groups["name"].Value, m => m.Groups["version"].Value);
            Assert.AreEqual(version, packages.GetValueOrDefault("Microsoft.ML.Mask2Former"), $"{notebook}: #r \"nuget: Microsoft.ML.Mask2Former, {version}\"");
            foreach (var (name, v) in packages.Where(p => p.Key.StartsWith("Microsoft.ML.Mask2Former", StringComparison.Ordinal)))
                Assert.AreEqual(version, v, $"{notebook}: {name}");
        }
    }

    [TestMethod]
    [DynamicData(nameof(Notebooks))]
    public async Task EveryCellRunsInTheCSharpKernel(string notebook)
    {
        var feed = PackedFeed.Get();
        var userPackages = PackedFeed.UserPackages;
        var document = Notebook.Parse(await File.ReadAllTextAsync(Path.Combine(NotebookFolder, notebook), TestContext.CancellationToken));
        var cells = document.Elements.Select((element, i) => (Number: i + 1, Element: element))
            .Where(c => c.Element.KernelName is not ("markdown" or "md")).ToList();
        Assert.IsNotEmpty(cells, $"{notebook} has no code cells");

        var log = new StringBuilder();
        var displayed = 0;
        var previousFolder = Environment.CurrentDirectory;
        var previousPackages = Environment.GetEnvironmentVariable("NUGET_PACKAGES");
        var previousFallback = Environment.GetEnvironmentVariable("NUGET_FALLBACK_PACKAGES");
        // The kernel restores through `dotnet`, which inherits these: packed packages into the run's
        // folder, everything else from the user's cache.
        Environment.SetEnvironmentVariable("NUGET_PACKAGES", feed.Packages);
        Environment.SetEnvironmentVariable("NUGET_FALLBACK_PACKAGES", userPackages);
        Environment.CurrentDirectory = NotebookFolder;
        try
        {
            using var kernel = new CompositeKernel
            {
                new CSharpKernel()
                    .UseNugetDirective((k, references) =>
                    {
                        k.AddAssemblyReferences(references.SelectMany(r => r.AssemblyPaths));
                        return Task.CompletedTask;
                    }, forceRestore: true)
                    .UseKernelHelpers(),
            };
            kernel.DefaultKernelName = "csharp";

            async Task Submit(string code, string where)
            {
                var result = await kernel.SendAsync(new SubmitCode(code, "csharp"), TestContext.CancellationToken);
                foreach (var e in result.Events)
                {
                    switch (e)
                    {
                        case DisplayEvent shown:
                            displayed++;
                            log.AppendLine(string.Join(" | ", shown.FormattedValues.Where(v => v.MimeType == "text/plain").Select(v => v.Value)));
                            break;
                        case CommandFailed failed:
                            Assert.Fail($"{notebook}, {where} failed: {failed.Message}\n{failed.Exception}\n--- output so far ---\n{log}");
                            break;
                    }
                }
            }

            await Submit($"#i \"nuget: {feed.Feed}\"", "the test's #i line for the packed feed");
            foreach (var (number, element) in cells)
            {
                Assert.AreEqual("csharp", element.KernelName, $"{notebook}, cell {number} is {element.KernelName}; the notebooks here are C# only");
                await Submit(element.Contents, $"cell {number}");
            }
        }
        finally
        {
            Environment.CurrentDirectory = previousFolder;
            Environment.SetEnvironmentVariable("NUGET_PACKAGES", previousPackages);
            Environment.SetEnvironmentVariable("NUGET_FALLBACK_PACKAGES", previousFallback);
        }
        TestContext.WriteLine(log.ToString());
        Assert.IsGreaterThan(0, displayed, $"{notebook} displays nothing");
        // Third-party packages came from the user's cache, not a second download into the run's folder.
        if (Directory.Exists(Path.Combine(PackedFeed.UserPackages, "microsoft.ml", "6.0.0")))
            Assert.IsFalse(Directory.Exists(Path.Combine(feed.Packages, "microsoft.ml")), "the kernel's restore ignored the fallback folder");
    }
}
