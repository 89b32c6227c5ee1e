using Microsoft.ML.Mask2Former.Training.Modeling;
using static TorchSharp.torch;

namespace Microsoft.ML.Mask2Former.Training.Tests.Modeling;

/// <summary>The network is trainable: in training mode every parameter receives a finite gradient.</summary>
[TestClass]
public sealed class TrainingModeTests
{
    [TestMethod]
    public void EveryParameterGetsAFiniteGradient()
    {
        using var network = new Mask2FormerForUniversalSegmentation(Presets.Small());
        network.train();
        using var scope = NewDisposeScope();
        var input = randn(new long[] { 2, 3, 64, 96 }, generator: new Generator(5));
        using var output = network.forward(input);
        var loss = output.ClassQueriesLogits.pow(2).mean() + output.MasksQueriesLogits.sigmoid().mean();
        foreach (var (c, m) in output.AuxiliaryLogits) loss = loss + c.pow(2).mean() + m.sigmoid().mean();
        loss.backward();
        var missing = new List<string>();
        foreach (var (name, parameter) in network.named_parameters())
        {
            var grad = parameter.grad;
            if (grad is null) missing.Add(name);
            else Assert.IsTrue(grad.isfinite().all().item<bool>(), $"{name} has a non-finite gradient");
        }
        CollectionAssert.AreEqual(Array.Empty<string>(), missing, "parameters without gradient: " + string.Join(", ", missing));
        // The deformable sampling offsets learn through grid_sample's gradient with respect to the grid.
        var offsets = network.named_parameters().First(p => p.name.EndsWith("encoder.layers.0.self_attn.sampling_offsets.weight", StringComparison.Ordinal)).parameter;
        Assert.IsGreaterThan(0f, offsets.grad!.abs().sum().item<float>());
    }
}
