using System.Text.Json;

namespace Microsoft.ML.Mask2Former.Tests;

/// <summary>Reads ../shared/reference/evaluation/&lt;case&gt;/expected.json (numbers computed by panopticapi and pycocotools).</summary>
internal static class ReferenceExpectations
{
    public static JsonElement Load(string caseName)
    {
        var path = Path.Combine(TestPaths.EvaluationCase(caseName), "expected.json");
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        return doc.RootElement.Clone();
    }
}
