using System.Reflection;
using Microsoft.CodeAnalysis.CSharp.Scripting;
using Microsoft.CodeAnalysis.Scripting;

namespace Microsoft.ML.Mask2Former.Training.Tests.Notebooks;

/// <summary>
/// The .NET Interactive kernel is not installable here, so every notebook under
/// samples/Notebooks runs here instead: its C# cells, in order, as one Roslyn script session
/// against the built libraries, in the notebook's folder (as the kernel runs it). A cell that no
/// longer compiles or throws fails the test with the notebook, the cell number and the error.
/// </summary>
[TestClass]
public sealed class NotebookTests
{
    public TestContext TestContext { get; set; } = null!;

    private static string NotebookFolder => Path.Combine(TestPaths.RepoRoot, "samples", "Notebooks");

    public static IEnumerable<object[]> Notebooks() =>
        Directory.EnumerateFiles(NotebookFolder, "*.ipynb").Order(StringComparer.Ordinal)
            .Select(p => new object[] { Path.GetFileName(p) });

    [TestMethod]
    public void TheNotebooksCoverScoringEvaluationAndFineTuning()
    {
        var names = Notebooks().Select(n => (string)n[0]).ToArray();
        CollectionAssert.IsSubsetOf(new[] { "Evaluation.ipynb", "Scoring.ipynb", "FineTuning.ipynb" }, names, string.Join(", ", names));
    }

    [TestMethod]
    [DynamicData(nameof(Notebooks))]
    public async Task EveryCellRunsInOrder(string notebook)
    {
        var path = Path.Combine(NotebookFolder, notebook);
        var cells = NotebookReader.ReadCSharpCells(path, TestPaths.RepoRoot);
        Assert.IsNotEmpty(cells, $"{notebook} has no C# cells");

        var log = new StringWriter();
        var globals = new NotebookGlobals(log);
        var options = ScriptOptions.Default
            .WithReferences(ReferencedAssemblies())
            // The namespaces the .NET Interactive C# kernel imports by default.
            .WithImports("System", "System.IO", "System.Collections.Generic", "System.Linq", "System.Text", "System.Threading.Tasks")
            .WithEmitDebugInformation(false);
        var previous = Environment.CurrentDirectory;
        Environment.CurrentDirectory = NotebookFolder;
        try
        {
            ScriptState<object>? state = null;
            foreach (var cell in cells)
            {
                try
                {
                    state = state is null
                        ? await CSharpScript.RunAsync(cell.Code, options, globals, typeof(NotebookGlobals), TestContext.CancellationToken)
                        : await state.ContinueWithAsync(cell.Code, options, TestContext.CancellationToken);
                }
                catch (CompilationErrorException e)
                {
                    Assert.Fail($"{notebook}, cell {cell.Index} does not compile:\n{string.Join('\n', e.Diagnostics)}\n--- output so far ---\n{log}");
                }
                catch (Exception e) when (e is not AssertFailedException)
                {
                    Assert.Fail($"{notebook}, cell {cell.Index} threw {e}\n--- output so far ---\n{log}");
                }
            }
            TestContext.WriteLine(log.ToString());
            Assert.IsNotEmpty(globals.Displayed, $"{notebook} displays nothing");
        }
        finally
        {
            Environment.CurrentDirectory = previous;
        }
    }

    private static IEnumerable<Assembly> ReferencedAssemblies()
    {
        // Everything the test host loaded from its output folder, plus the libraries the notebooks use.
        Assembly[] needed =
        [
            typeof(Microsoft.ML.MLContext).Assembly,
            typeof(Microsoft.ML.Data.TextLoader).Assembly,
            typeof(Microsoft.ML.Mask2Former.Evaluation.PanopticEvaluator).Assembly,
            typeof(Microsoft.ML.Mask2Former.Training.Modeling.Mask2FormerConfig).Assembly,
            typeof(TorchSharp.torch).Assembly,
            typeof(SkiaSharp.SKBitmap).Assembly,
        ];
        var folder = AppContext.BaseDirectory;
        foreach (var file in Directory.EnumerateFiles(folder, "Microsoft.ML*.dll"))
        {
            try
            {
                Assembly.LoadFrom(file);
            }
            catch (BadImageFormatException)
            {
            }
        }
        return needed.Concat(AppDomain.CurrentDomain.GetAssemblies()
                .Where(a => !a.IsDynamic && a.Location.StartsWith(folder, StringComparison.Ordinal)
                            && Path.GetFileName(a.Location).StartsWith("Microsoft.ML", StringComparison.Ordinal)))
            .Distinct();
    }
}
