using Microsoft.ML.Mask2Former.Training.Modeling;
using static TorchSharp.torch;

namespace Microsoft.ML.Mask2Former.Training.Tests.Modeling;

/// <summary>
/// The whole network against the Hugging Face reference (small_model.safetensors, inputs A and B):
/// final and auxiliary logits, backbone stages, pixel decoder (encoder layers, levels, mask
/// features) and decoder hidden states, within 1e-4 (atol and rtol).
/// </summary>
[TestClass]
public sealed class Mask2FormerParityTests
{
    public TestContext TestContext { get; set; } = null!;

    private static Mask2FormerForUniversalSegmentation? _network;

    private static Mask2FormerForUniversalSegmentation Network
    {
        get
        {
            if (_network is not null) return _network;
            var folder = TestPaths.NewTempFolder();
            File.Copy(ReferenceData.ConfigFile, Path.Combine(folder, "config.json"));
            File.Copy(ReferenceData.ModelFile, Path.Combine(folder, "model.safetensors"));
            return _network = Mask2FormerForUniversalSegmentation.FromPretrained(folder);
        }
    }

    [ClassCleanup]
    public static void Cleanup()
    {
        _network?.Dispose();
        _network = null;
    }

    private void Check(string input, string name, Tensor actual)
    {
        var diff = ReferenceData.AssertClose(ReferenceData.Io($"{input}.{name}"), actual, $"{input}.{name}");
        TestContext.WriteLine($"{input}.{name}: max abs diff {diff:E2}");
    }

    [TestMethod]
    [DataRow("A")]
    [DataRow("B")]
    public void EveryOutputMatchesTheReference(string input)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var output = Network.forward(ReferenceData.Io($"input.{input}.pixel_values"), keepEncoderLayers: true);

        Check(input, "class_queries_logits", output.ClassQueriesLogits);
        Check(input, "masks_queries_logits", output.MasksQueriesLogits);
        Assert.AreEqual(3, output.AuxiliaryLogits.Count);
        for (var i = 0; i < output.AuxiliaryLogits.Count; i++)
        {
            Check(input, $"auxiliary_logits.{i}.class_queries_logits", output.AuxiliaryLogits[i].Class);
            Check(input, $"auxiliary_logits.{i}.masks_queries_logits", output.AuxiliaryLogits[i].Masks);
        }
        for (var i = 0; i < 4; i++) Check(input, $"encoder_hidden_states.{i}", output.EncoderHiddenStates[i]);
        Check(input, "encoder_last_hidden_state", output.EncoderHiddenStates[3]);
        Check(input, "hook.pixel_decoder_encoder_layer0_out", output.PixelDecoderEncoderLayers[0]);
        Check(input, "hook.pixel_decoder_encoder_out", output.PixelDecoderEncoderLayers[^1]);
        for (var i = 0; i < 3; i++) Check(input, $"pixel_decoder_hidden_states.{i}", output.PixelDecoderHiddenStates[i]);
        Check(input, "pixel_decoder_last_hidden_state", output.PixelDecoderLastHiddenState);
        Assert.AreEqual(4, output.TransformerDecoderHiddenStates.Count);
        for (var i = 0; i < 4; i++) Check(input, $"transformer_decoder_hidden_states.{i}", output.TransformerDecoderHiddenStates[i]);
        Check(input, "transformer_decoder_last_hidden_state", output.TransformerDecoderLastHiddenState);
    }
}
