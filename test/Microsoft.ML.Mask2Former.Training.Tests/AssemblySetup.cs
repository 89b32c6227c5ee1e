using TorchSharp;

namespace Microsoft.ML.Mask2Former.Training.Tests;

[TestClass]
public static class AssemblySetup
{
    // One intra-op thread: this machine's two cores are shared with other test processes, and
    // spinning OpenMP workers slow everything down when they compete.
    [AssemblyInitialize]
    public static void Initialize(TestContext context)
    {
        _ = context;
        torch.set_num_threads(1);
    }
}
