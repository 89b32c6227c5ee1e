using Microsoft.ML.Mask2Former.Training.Checkpoints;
using Microsoft.ML.Mask2Former.Training.Modeling;
using Microsoft.ML.Mask2Former.Training.Modeling.Swin;
using static TorchSharp.torch;

namespace Microsoft.ML.Mask2Former.Training.Tests.Modeling;

/// <summary>The Swin backbone against the Hugging Face reference (patch embeddings, stage tokens, stage outputs).</summary>
[TestClass]
public sealed class SwinBackboneParityTests
{
    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    [DataRow("A")]
    [DataRow("B")]
    public void StagesMatchTheReference(string input)
    {
        using var scope = NewDisposeScope();
        var config = Mask2FormerConfig.Load(ReferenceData.ConfigFile);
        using var backbone = new SwinBackbone((SwinConfig)config.Backbone);
        var report = ModuleCheckpoint.Load(backbone, ReferenceData.ModelFile, strict: false, prefix: "model.pixel_level_module.encoder.");
        Assert.AreEqual(0, report.Missing.Count, report.Describe());
        Assert.AreEqual(0, report.ShapeMismatches.Count, report.Describe());
        backbone.eval();

        using var noGrad = no_grad();
        using var trace = backbone.ForwardWithTokens(ReferenceData.Io($"input.{input}.pixel_values"));
        var diff = ReferenceData.AssertClose(ReferenceData.Io($"{input}.hook.swin_patch_embeddings"), trace.PatchEmbeddings, "patch embeddings");
        TestContext.WriteLine($"{input} patch embeddings max abs diff {diff:E2}");
        for (var s = 0; s < 4; s++)
        {
            diff = ReferenceData.AssertClose(ReferenceData.Io($"{input}.hook.swin_stage{s + 1}_tokens_before_downsample"), trace.StageTokens[s], $"stage {s + 1} tokens");
            TestContext.WriteLine($"{input} stage {s + 1} tokens max abs diff {diff:E2}");
            diff = ReferenceData.AssertClose(ReferenceData.Io($"{input}.encoder_hidden_states.{s}"), trace.FeatureMaps[s], $"encoder_hidden_states.{s}");
            TestContext.WriteLine($"{input} encoder_hidden_states.{s} max abs diff {diff:E2}");
        }
    }
}
