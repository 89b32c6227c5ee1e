using static TorchSharp.torch;

namespace Microsoft.ML.Mask2Former.Training.Tests;

/// <summary>The native libtorch loads on this host (see Directory.Build.targets for the ELF fix it may need).</summary>
[TestClass]
public sealed class TorchRuntimeTests
{
    [TestMethod]
    public void RandnRunsAndHasTheRequestedShape()
    {
        using var scope = NewDisposeScope();
        var x = randn(3, 5, generator: new Generator(7));
        CollectionAssert.AreEqual(new long[] { 3, 5 }, x.shape);
        Assert.AreEqual(ScalarType.Float32, x.dtype);
        var m = x.matmul(x.t());
        Assert.AreEqual(x.pow(2).sum(1)[0].item<float>(), m[0, 0].item<float>(), 1e-5f);
    }
}
