namespace Microsoft.ML.Mask2Former.Packaging.Tests;

[TestClass]
public static class AssemblySetup
{
    [AssemblyCleanup]
    public static void Cleanup() => PackedFeed.Delete();
}
