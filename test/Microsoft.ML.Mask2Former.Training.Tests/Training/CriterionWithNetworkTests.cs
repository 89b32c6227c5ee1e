using Microsoft.ML.Mask2Former.Training.Losses;
using Microsoft.ML.Mask2Former.Training.Modeling;
using static TorchSharp.torch;

namespace Microsoft.ML.Mask2Former.Training.Tests.Training;

[TestClass]
public sealed class CriterionWithNetworkTests
{
    [TestMethod]
    public void NetworkOutputTrainsOnOneBatch()
    {
        manual_seed(3);
        var config = Presets.Small(numLabels: 3);
        using var network = new Mask2FormerForUniversalSegmentation(config);
        network.train();
        using var pixels = randn(1, 3, 64, 64);
        // Two segments at the input resolution (the prediction is 16x16): a square thing and the rest.
        using var square = zeros(64, 64);
        square[TensorIndex.Slice(16, 40), TensorIndex.Slice(20, 44)] = tensor(1f);
        using var masks = stack([square, 1 - square]);
        using var labels = tensor(new long[] { 1, 2 });
        var targets = new[] { new SegmentationTarget(labels, masks) };
        var criterion = new Mask2FormerCriterion(3, new Mask2FormerCriterionOptions
        {
            NumPoints = 1024,
            Matcher = new HungarianMatcherOptions { NumPoints = 1024 },
        });

        double Evaluate()
        {
            // The same random points each time, so the numbers compare.
            manual_seed(11);
            using var noGrad = no_grad();
            using var output = network.forward(pixels);
            using var loss = criterion.Compute(output, targets);
            return loss.ToValues()["loss"];
        }

        var before = Evaluate();
        using var optimizer = optim.AdamW(network.parameters(), 1e-3);
        for (var step = 0; step < 6; step++)
        {
            optimizer.zero_grad();
            using var output = network.forward(pixels);
            using var loss = criterion.Compute(output, targets);
            Assert.HasCount(3 * (1 + output.AuxiliaryLogits.Count), loss.Terms);
            Assert.AreEqual($"loss_dice_{output.AuxiliaryLogits.Count - 1}", loss.Terms.Keys.Last());
            loss.Total.backward();
            optimizer.step();
        }
        var after = Evaluate();
        TestContext.WriteLine($"loss {before} -> {after}");
        Assert.IsLessThan(before, after, $"loss {before} -> {after}");
    }

    public TestContext TestContext { get; set; } = null!;
}
