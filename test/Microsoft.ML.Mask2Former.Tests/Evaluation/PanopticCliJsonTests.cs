using System.Text.Json;

namespace Microsoft.ML.Mask2Former.Tests.Evaluation;

/// <summary><c>m2f eval panoptic --json</c> writes the reference expected.json layout, number for number.</summary>
[TestClass]
public sealed class PanopticCliJsonTests
{
    [TestMethod]
    [DataRow("synth")]
    [DataRow("sample")]
    public void JsonOutputHasTheReferenceLayoutAndNumbers(string caseName)
    {
        var dir = TestPaths.EvaluationCase(caseName);
        var output = Path.Combine(TestPaths.NewTempFolder(), "pq.json");
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = global::Mask2Former.Cli.Program.Run(
            ["eval", "panoptic", "--gt-json", Path.Combine(dir, "panoptic_gt.json"), "--gt-folder", Path.Combine(dir, "panoptic_gt"),
             "--pred-json", Path.Combine(dir, "panoptic_pred.json"), "--pred-folder", Path.Combine(dir, "panoptic_pred"),
             "--json", output, "--threads", "2"],
            stdout, stderr);
        Assert.AreEqual(0, code, stderr.ToString());
        StringAssert.StartsWith(stdout.ToString(), "          |    PQ     SQ     RQ     N\n");

        var expected = ReferenceExpectations.Load(caseName);
        using var actual = JsonDocument.Parse(File.ReadAllText(output));
        foreach (var section in new[] { "panoptic", "panoptic_counts" })
            AssertSameTree(expected.GetProperty(section), actual.RootElement.GetProperty(section), section);
    }

    /// <summary>Same keys at every level (order free), numbers within 1e-9, integers exact.</summary>
    private static void AssertSameTree(JsonElement expected, JsonElement actual, string path)
    {
        Assert.AreEqual(expected.ValueKind, actual.ValueKind, path);
        switch (expected.ValueKind)
        {
            case JsonValueKind.Object:
                var expectedKeys = expected.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal).ToArray();
                var actualKeys = actual.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal).ToArray();
                CollectionAssert.AreEqual(expectedKeys, actualKeys, $"keys of {path}");
                foreach (var p in expected.EnumerateObject())
                    AssertSameTree(p.Value, actual.GetProperty(p.Name), $"{path}.{p.Name}");
                break;
            case JsonValueKind.Number:
                if (expected.TryGetInt64(out var e) && !expected.GetRawText().Contains('.'))
                    Assert.AreEqual(e, actual.GetInt64(), path);
                else
                    Assert.AreEqual(expected.GetDouble(), actual.GetDouble(), 1e-9, path);
                break;
            default:
                Assert.AreEqual(expected.GetRawText(), actual.GetRawText(), path);
                break;
        }
    }
}
