using Microsoft.ML.Mask2Former.Training.Modeling;
using Microsoft.ML.Mask2Former.Training.Optimization;

namespace Microsoft.ML.Mask2Former.Training.Tests.Training;

[TestClass]
public sealed class OptimizationTests
{
    [TestMethod]
    public void MultiStepDecaysAtTheMask2FormerMilestones()
    {
        var s = new LearningRateSchedule(LearningRateScheduleKind.MultiStep, 368_750, [0.889, 0.963], 0.1, 0.9, 10, 1.0);
        CollectionAssert.AreEqual(new long[] { 327_819, 355_106 }, s.MilestoneSteps.ToArray());
        Assert.AreEqual(1.0, s.Factor(0));
        Assert.AreEqual(1.0, s.Factor(327_818));
        Assert.AreEqual(0.1, s.Factor(327_819), 1e-15);
        Assert.AreEqual(0.01, s.Factor(368_749), 1e-15);
    }

    [TestMethod]
    public void PolyAndWarmUp()
    {
        var s = new LearningRateSchedule(LearningRateScheduleKind.Poly, 100, [], 0.1, 0.9, 10, 0.001);
        Assert.AreEqual(0.001, s.Factor(0), 1e-15);
        Assert.AreEqual((0.001 * 0.5 + 0.5) * Math.Pow(0.95, 0.9), s.Factor(5), 1e-12);
        Assert.AreEqual(Math.Pow(0.5, 0.9), s.Factor(50), 1e-12);
    }

    [TestMethod]
    public void BackboneAtATenthAndNoDecayOnNormsAndEmbeddings()
    {
        using var network = new Mask2FormerForUniversalSegmentation(TrainingFixtures.Tiny());
        var groups = ParameterGroups.Build(network, 1e-4, 0.05, 0.1);
        var norms = network.named_modules().Where(m => m.module is TorchSharp.Modules.LayerNorm or TorchSharp.Modules.GroupNorm)
            .SelectMany(m => m.module.named_parameters(recurse: false).Select(p => m.name + "." + p.name)).ToHashSet();
        Assert.IsNotEmpty(norms);
        var byName = groups.SelectMany(g => g.Parameters.Select(p => (p.Name, g))).ToDictionary(x => x.Name, x => x.g);
        Assert.AreEqual(network.parameters().Count(), byName.Count);
        foreach (var (name, g) in byName)
        {
            var backbone = name.StartsWith("model.pixel_level_module.encoder.", StringComparison.Ordinal);
            Assert.AreEqual(backbone ? 1e-5 : 1e-4, g.LearningRate, 1e-18, name);
            var noDecay = norms.Contains(name) || name.Contains("relative_position_bias_table", StringComparison.Ordinal)
                || name.Contains("queries_embedder", StringComparison.Ordinal) || name.Contains("queries_features", StringComparison.Ordinal)
                || name.EndsWith("level_embed.weight", StringComparison.Ordinal);
            Assert.AreEqual(noDecay ? 0.0 : 0.05, g.WeightDecay, name);
        }
    }
}
