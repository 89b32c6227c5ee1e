using Microsoft.ML.Mask2Former.Training.Checkpoints;
using Microsoft.ML.Mask2Former.Training.Modeling;
using Microsoft.ML.Mask2Former.Training.Modeling.ResNet;
using static TorchSharp.torch;

namespace Microsoft.ML.Mask2Former.Training.Tests.Modeling;

[TestClass]
public sealed class ResNetBackboneTests
{
    /// <summary>torchvision's state-dict names of a bottleneck ResNet, written out from its conventions (not from our module).</summary>
    private static List<(string Name, long[] Shape)> TorchvisionNames(int[] depths)
    {
        var names = new List<(string, long[])>();
        void Bn(string prefix, long c)
        {
            names.Add(($"{prefix}.weight", new[] { c }));
            names.Add(($"{prefix}.bias", new[] { c }));
            names.Add(($"{prefix}.running_mean", new[] { c }));
            names.Add(($"{prefix}.running_var", new[] { c }));
            names.Add(($"{prefix}.num_batches_tracked", Array.Empty<long>()));
        }
        names.Add(("conv1.weight", new long[] { 64, 3, 7, 7 }));
        Bn("bn1", 64);
        long inplanes = 64;
        for (var stage = 0; stage < 4; stage++)
        {
            long planes = 64 << stage;
            for (var b = 0; b < depths[stage]; b++)
            {
                var p = $"layer{stage + 1}.{b}";
                names.Add(($"{p}.conv1.weight", new[] { planes, inplanes, 1, 1 }));
                Bn($"{p}.bn1", planes);
                names.Add(($"{p}.conv2.weight", new[] { planes, planes, 3, 3 }));
                Bn($"{p}.bn2", planes);
                names.Add(($"{p}.conv3.weight", new[] { planes * 4, planes, 1, 1 }));
                Bn($"{p}.bn3", planes * 4);
                if (b == 0)
                {
                    names.Add(($"{p}.downsample.0.weight", new[] { planes * 4, inplanes, 1, 1 }));
                    Bn($"{p}.downsample.1", planes * 4);
                }
                inplanes = planes * 4;
            }
        }
        names.Add(("fc.weight", new long[] { 1000, 2048 }));
        names.Add(("fc.bias", new long[] { 1000 }));
        return names;
    }

    [TestMethod]
    [DataRow(50, 320)]
    [DataRow(101, 626)]
    public void TorchvisionCheckpointLoadsStrictly(int layers, int torchvisionKeys)
    {
        var config = (ResNetConfig)Presets.Get($"resnet-{layers}").Backbone;
        var names = TorchvisionNames(config.Depths.ToArray());
        Assert.AreEqual(torchvisionKeys, names.Count, "torchvision's resnet state dict size");
        var path = Path.Combine(TestPaths.NewTempFolder(), $"resnet{layers}.safetensors");
        var generator = new Generator((ulong)layers);
        using (var scope = NewDisposeScope())
        {
            SafeTensorsWriter.Save(path, names.Select(n => KeyValuePair.Create(n.Name,
                n.Name.EndsWith("num_batches_tracked", StringComparison.Ordinal) ? tensor(7L)
                : n.Name.EndsWith("running_var", StringComparison.Ordinal) ? rand(n.Shape, generator: generator) + 0.5
                : randn(n.Shape, generator: generator))).ToList());
        }
        using var backbone = new ResNetBackbone(config);
        var report = backbone.LoadTorchvision(path);
        Assert.AreEqual(torchvisionKeys - 2, report.Loaded.Count);
        using var file = SafeTensorsFile.Open(path);
        using var expected = file.ReadTensor("layer3.1.bn2.running_var");
        Assert.IsTrue(expected.eq(backbone.state_dict()["layer3.1.bn2.running_var"]).all().item<bool>());

        // A truly strict load (fc kept) names the classifier as unexpected.
        var error = Assert.ThrowsExactly<CheckpointMismatchException>(() => ModuleCheckpoint.Load(backbone, path));
        CollectionAssert.AreEqual(new[] { "fc.bias", "fc.weight" }, error.Report.Unexpected.ToArray());
    }

    [TestMethod]
    public void FeatureMapsHaveStrides4To32AndTheStageWidths()
    {
        using var scope = NewDisposeScope();
        var config = (ResNetConfig)Presets.ResNet50().Backbone;
        using var backbone = new ResNetBackbone(config);
        backbone.eval();
        using var noGrad = no_grad();
        var maps = backbone.forward(randn(2, 3, 64, 96));
        Assert.AreEqual(4, maps.Length);
        var expected = new[] { new long[] { 2, 256, 16, 24 }, new long[] { 2, 512, 8, 12 }, new long[] { 2, 1024, 4, 6 }, new long[] { 2, 2048, 2, 3 } };
        for (var i = 0; i < 4; i++) CollectionAssert.AreEqual(expected[i], maps[i].shape, $"stage {i + 1}");
        // Frozen batch norm: the affine parameters are buffers, so nothing of the norms trains.
        Assert.IsFalse(backbone.named_parameters().Any(p => p.name.Contains("bn", StringComparison.Ordinal) || p.name.Contains("downsample.1", StringComparison.Ordinal)));
    }

    [TestMethod]
    public void FrozenBatchNormAppliesTheStoredStatistics()
    {
        using var scope = NewDisposeScope();
        using var norm = new FrozenBatchNorm2d(2);
        var state = norm.state_dict();
        state["weight"].copy_(tensor(new[] { 2f, 3f }));
        state["bias"].copy_(tensor(new[] { 1f, -1f }));
        state["running_mean"].copy_(tensor(new[] { 0.5f, 4f }));
        state["running_var"].copy_(tensor(new[] { 4f, 0.25f }));
        var x = tensor(new[] { 1.5f, 4.5f }).view(1, 2, 1, 1);
        var y = norm.forward(x).flatten();
        Assert.AreEqual((1.5 - 0.5) / Math.Sqrt(4 + 1e-5) * 2 + 1, y[0].item<float>(), 1e-5);
        Assert.AreEqual((4.5 - 4) / Math.Sqrt(0.25 + 1e-5) * 3 - 1, y[1].item<float>(), 1e-5);
    }

    [TestMethod]
    public void Mask2FormerWithResNet50RunsEndToEnd()
    {
        using var scope = NewDisposeScope();
        using var network = new Mask2FormerForUniversalSegmentation(Presets.ResNet50(numLabels: 5));
        network.eval();
        using var noGrad = no_grad();
        using var output = network.forward(randn(1, 3, 64, 64));
        CollectionAssert.AreEqual(new long[] { 1, 100, 6 }, output.ClassQueriesLogits.shape);
        CollectionAssert.AreEqual(new long[] { 1, 100, 16, 16 }, output.MasksQueriesLogits.shape);
        Assert.AreEqual(9, output.AuxiliaryLogits.Count, "decoder_layers 10 gives 9 layers, 10 predictions");
        Assert.IsTrue(output.MasksQueriesLogits.isfinite().all().item<bool>());
    }
}
