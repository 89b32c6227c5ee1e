namespace Microsoft.ML.Mask2Former.Tests;

[TestClass]
public sealed class ReferenceDataTests
{
    [TestMethod]
    public void ReferenceFolderIsPresent()
    {
        Assert.IsTrue(File.Exists(Path.Combine(TestPaths.EvaluationCase("synth"), "expected.json")),
            $"reference data not found under {TestPaths.Reference}");
    }
}
