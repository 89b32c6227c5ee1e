using Microsoft.ML.Mask2Former.Training.Checkpoints;
using Microsoft.ML.Mask2Former.Training.Modeling;
using static TorchSharp.torch;

namespace Microsoft.ML.Mask2Former.Training.Tests.Checkpoints;

/// <summary>Loading by Hugging Face names: exact match of the reference, and every kind of mismatch listed.</summary>
[TestClass]
public sealed class StrictLoadTests
{
    private static Mask2FormerForUniversalSegmentation NewSmall() => new(Mask2FormerConfig.Load(ReferenceData.ConfigFile));

    [TestMethod]
    public void OurStateDictHasExactlyTheReferenceNamesAndShapes()
    {
        using var network = NewSmall();
        var ours = network.state_dict().ToDictionary(p => p.Key, p => "[" + string.Join(", ", p.Value.shape) + "]");
        var reference = File.ReadAllLines(TestPaths.Model("small_param_names.txt")).Where(l => l.Length > 0)
            .Select(l => l.Split('\t')).ToDictionary(p => p[0], p => p[2]);
        CollectionAssert.AreEquivalent(reference.Keys.ToList(), ours.Keys.ToList());
        foreach (var (name, shape) in reference) Assert.AreEqual(shape, ours[name], name);
        Assert.AreEqual(2_590_489L, network.parameters().Sum(p => p.numel()), "parameter count of the reference");
    }

    [TestMethod]
    public void ReferenceCheckpointLoadsStrictly()
    {
        using var network = NewSmall();
        var report = ModuleCheckpoint.Load(network, ReferenceData.ModelFile);
        Assert.IsTrue(report.IsExact, report.Describe());
        Assert.AreEqual(298, report.Loaded.Count);
        using var file = SafeTensorsFile.Open(ReferenceData.ModelFile);
        using var expected = file.ReadTensor("class_predictor.weight");
        var actual = network.state_dict()["class_predictor.weight"];
        Assert.IsTrue(expected.eq(actual).all().item<bool>());
    }

    [TestMethod]
    public void MissingUnexpectedAndMisshapenNamesAreAllListedAndNothingIsLoaded()
    {
        var path = Path.Combine(TestPaths.NewTempFolder(), "edited.safetensors");
        using (var source = SafeTensorsFile.Open(ReferenceData.ModelFile))
        using (var scope = NewDisposeScope())
        {
            var tensors = source.Entries
                .Where(e => e.Name is not "class_predictor.bias" and not "model.transformer_module.level_embed.weight")
                .Select(e => KeyValuePair.Create(e.Name, source.ReadTensor(e))).ToList();
            tensors.Add(KeyValuePair.Create("model.extra.weight", ones(3)));
            var index = tensors.FindIndex(p => p.Key == "model.transformer_module.queries_features.weight");
            tensors[index] = KeyValuePair.Create(tensors[index].Key, zeros(13, 64));
            SafeTensorsWriter.Save(path, tensors);
        }
        using var network = NewSmall();
        var before = network.state_dict()["class_predictor.weight"].clone();
        var error = Assert.ThrowsExactly<CheckpointMismatchException>(() => ModuleCheckpoint.Load(network, path));
        CollectionAssert.AreEqual(new[] { "class_predictor.bias", "model.transformer_module.level_embed.weight" }, error.Report.Missing.ToArray());
        CollectionAssert.AreEqual(new[] { "model.extra.weight" }, error.Report.Unexpected.ToArray());
        Assert.AreEqual(1, error.Report.ShapeMismatches.Count);
        Assert.AreEqual("model.transformer_module.queries_features.weight (model [12, 64], checkpoint [13, 64])", error.Report.ShapeMismatches[0].ToString());
        foreach (var part in new[] { "2 missing: class_predictor.bias, model.transformer_module.level_embed.weight", "1 unexpected: model.extra.weight", "1 shape mismatches", Path.GetFileName(path) })
            StringAssert.Contains(error.Message, part);
        Assert.IsTrue(before.eq(network.state_dict()["class_predictor.weight"]).all().item<bool>(), "a failed strict load must not change the model");

        var lenient = ModuleCheckpoint.Load(network, path, strict: false);
        Assert.AreEqual(295, lenient.Loaded.Count);
        Assert.IsFalse(lenient.IsExact);
    }

    [TestMethod]
    public void HalfPrecisionCheckpointLoadsIntoFloatModel()
    {
        var path = Path.Combine(TestPaths.NewTempFolder(), "half.safetensors");
        using (var source = SafeTensorsFile.Open(ReferenceData.ModelFile))
        using (var scope = NewDisposeScope())
        {
            SafeTensorsWriter.Save(path, source.Entries.Select(e =>
            {
                var t = source.ReadTensor(e);
                return KeyValuePair.Create(e.Name, t.is_floating_point() ? t.to(ScalarType.BFloat16) : t);
            }).ToList());
        }
        using var network = NewSmall();
        ModuleCheckpoint.Load(network, path);
        using var file = SafeTensorsFile.Open(ReferenceData.ModelFile);
        using var scope2 = NewDisposeScope();
        var exact = file.ReadTensor("class_predictor.weight");
        var loaded = network.state_dict()["class_predictor.weight"];
        Assert.AreEqual(ScalarType.Float32, loaded.dtype);
        Assert.IsTrue((exact - loaded).abs().max().item<float>() < 0.02f);
        Assert.IsFalse(exact.eq(loaded).all().item<bool>(), "BF16 rounding must be visible");
    }

    [TestMethod]
    public void SavePretrainedThenFromPretrainedGivesTheSameNetwork()
    {
        var folder = TestPaths.NewTempFolder();
        using var original = NewSmall();
        ModuleCheckpoint.Load(original, ReferenceData.ModelFile);
        original.eval();
        original.SavePretrained(folder);
        using var again = Mask2FormerForUniversalSegmentation.FromPretrained(folder);
        Assert.AreEqual(original.Config.ToJson(), again.Config.ToJson());
        using (var a = SafeTensorsFile.Open(ReferenceData.ModelFile))
        using (var b = SafeTensorsFile.Open(Path.Combine(folder, "model.safetensors")))
        {
            CollectionAssert.AreEqual(a.Entries.Select(e => e.Name).ToArray(), b.Entries.Select(e => e.Name).ToArray());
            foreach (var entry in a.Entries) Assert.IsTrue(a.GetBytes(entry).SequenceEqual(b.GetBytes(b[entry.Name])), entry.Name);
        }
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var input = ReferenceData.Io("input.A.pixel_values");
        using var x = original.forward(input);
        using var y = again.forward(input);
        Assert.IsTrue(x.MasksQueriesLogits.eq(y.MasksQueriesLogits).all().item<bool>());
    }
}
