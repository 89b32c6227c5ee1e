using Microsoft.ML.Mask2Former.Training.Checkpoints;
using static TorchSharp.torch;

namespace Microsoft.ML.Mask2Former.Training.Tests;

/// <summary>The reference model's inputs and outputs (../shared/reference/model/small_io.safetensors).</summary>
internal static class ReferenceData
{
    public const double Tolerance = 1e-4;

    public static string ModelFile => TestPaths.Model("small_model.safetensors");

    public static string ConfigFile => TestPaths.Model("small_config.json");

    /// <summary>Reads one tensor of small_io.safetensors (e.g. "input.A.pixel_values", "A.class_queries_logits").</summary>
    public static Tensor Io(string name)
    {
        using var file = SafeTensorsFile.Open(TestPaths.Model("small_io.safetensors"));
        return file.ReadTensor(name);
    }

    /// <summary>Asserts |actual - expected| ≤ atol + rtol·|expected| elementwise and returns the largest absolute difference.</summary>
    public static double AssertClose(Tensor expected, Tensor actual, string what, double tolerance = Tolerance)
    {
        CollectionAssert.AreEqual(expected.shape, actual.shape, $"{what}: shape");
        using var scope = NewDisposeScope();
        var difference = (actual - expected).abs();
        var max = difference.max().item<float>();
        var allowed = expected.abs() * tolerance + tolerance;
        var bad = difference.gt(allowed).sum().item<long>();
        Assert.AreEqual(0L, bad, $"{what}: {bad} of {expected.numel()} elements differ by more than {tolerance} (atol and rtol); max abs diff {max:E3}");
        return max;
    }
}
