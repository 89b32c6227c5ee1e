using System.Text.Json.Nodes;
using Microsoft.ML.Mask2Former.Training.Checkpoints;
using Microsoft.ML.Mask2Former.Training.Losses;
using Microsoft.ML.Mask2Former.Training.Modeling;
using static TorchSharp.torch;
using Microsoft.ML.Mask2Former.Training.Modeling.VitAdapter;

namespace Microsoft.ML.Mask2Former.Training.Tests.VitAdapter;

/// <summary>The reference ViT-Adapter model, loaded from its mmdetection checkpoint, takes a training step: finite set loss and gradients everywhere.</summary>
[TestClass]
public sealed class VitAdapterTrainingStepTests
{
    [TestMethod]
    public void OneStepFromTheCheckpointHasFiniteLossAndGradients()
    {
        // Without stochastic depth, so that every branch is sure to get a gradient in this one step.
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(VitAdapterParityTests.ReferenceFolder, MmdetModelFolder.ConfigFile)))!;
        config["model"]!["backbone"]!["drop_path_rate"] = 0.0;
        using var network = new Mask2FormerForUniversalSegmentation(MmdetConfig.Parse(config.ToJsonString()).Model);
        MmdetModelFolder.LoadWeights(network, Path.Combine(VitAdapterParityTests.ReferenceFolder, MmdetModelFolder.CheckpointFile));
        network.train();
        using var scope = NewDisposeScope();
        var pixels = VitAdapterParityTests.Io("input.A.pixel_values");
        // A person on the left, sky over the top right.
        var masks = zeros(2, 96, 160);
        masks[0, .., ..60] = ones(96, 60);
        masks[1, ..40, 60..] = ones(40, 100);
        var target = new SegmentationTarget(tensor(new long[] { 0, 3 }), masks);
        using var output = network.forward(pixels);
        using var loss = new Mask2FormerCriterion(network.Config.NumLabels).Compute(output, new[] { target });
        Assert.IsTrue(float.IsFinite(loss.Total.item<float>()) && loss.Total.item<float>() > 0, $"loss {loss.Total.item<float>()}");
        loss.Total.backward();
        var parameters = network.named_parameters().ToList();
        foreach (var (name, parameter) in parameters)
        {
            if (parameter.grad is null) continue;
            Assert.IsTrue(parameter.grad.isfinite().all().item<bool>(), $"{name}: non-finite gradient");
        }
        foreach (var name in new[] { "model.pixel_level_module.encoder.patch_embed.proj.weight", "model.pixel_level_module.encoder.blocks.3.attn.relative_position_bias_table",
                     "model.pixel_level_module.encoder.interactions.0.injector.attn.sampling_offsets.weight", "model.pixel_level_module.encoder.spm.stem.0.weight",
                     "model.pixel_level_module.encoder.interactions.3.extra_extractors.1.ffn.dwconv.dwconv.weight", "model.pixel_level_module.encoder.level_embed" })
        {
            var grad = parameters.Single(p => p.name == name).parameter.grad;
            Assert.IsNotNull(grad, $"{name} gets no gradient");
            Assert.IsTrue(grad.abs().sum().item<float>() > 0, $"{name}: zero gradient");
        }
    }

    [TestMethod]
    [DataRow(false, DisplayName = "checkpoint.pth")]
    [DataRow(true, DisplayName = "the mmdet folder, with layer decay")]
    public void TheTrainerStartsFromAnMmdetCheckpointWithTheMmdetConfig(bool folder)
    {
        var data = Training.TrainingFixtures.Synthetic(images: 2, size: 64, maxThings: 2, seed: 5);
        var options = Training.TrainingFixtures.Fast(steps: 1, size: 64);
        // config.json of an mmdetection folder reads as the network it describes; the data set's categories replace its classes.
        options.Config = Mask2FormerConfig.Load(Path.Combine(VitAdapterParityTests.ReferenceFolder, MmdetModelFolder.ConfigFile));
        options.InitialWeights = folder ? VitAdapterParityTests.ReferenceFolder : Path.Combine(VitAdapterParityTests.ReferenceFolder, MmdetModelFolder.CheckpointFile);
        options.LearningRate = 1e-6;
        if (folder) options.LayerDecayRate = 0.9;
        options.OutputFolder = TestPaths.NewTempFolder();
        var losses = new List<double>();
        var result = new Mask2FormerTrainer(options).Fit(data, new Training.SyncProgress(p => losses.Add(p.Loss)));
        using var trainedNetwork = result.Network;
        Assert.IsInstanceOfType<VitAdapterConfig>(result.Network.Config.Backbone);
        Assert.IsTrue(losses.Count > 0 && losses.All(double.IsFinite), string.Join(", ", losses));
        using var reference = Mask2FormerForUniversalSegmentation.FromPretrained(VitAdapterParityTests.ReferenceFolder);
        using var scope = NewDisposeScope();
        const string Name = "model.pixel_level_module.encoder.interactions.0.injector.attn.value_proj.weight";
        var trained = result.Network.state_dict()[Name];
        Assert.IsTrue((trained - reference.state_dict()[Name]).abs().max().item<float>() < 1e-3, "started from the checkpoint (one step at lr 1e-6 moves it little)");
    }
}
