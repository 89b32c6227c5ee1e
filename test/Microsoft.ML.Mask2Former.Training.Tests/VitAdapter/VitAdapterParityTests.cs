using Microsoft.ML.Mask2Former.Training.Checkpoints;
using Microsoft.ML.Mask2Former.Training.Modeling;
using Microsoft.ML.Mask2Former.Training.Modeling.VitAdapter;
using static TorchSharp.torch;

namespace Microsoft.ML.Mask2Former.Training.Tests.VitAdapter;

/// <summary>
/// The tiny Mask2Former + ViT-Adapter (BEiT) of ../shared/reference/vit_adapter, loaded from the
/// mmdetection checkpoint and config, reproduces every intermediate tensor the unmodified upstream
/// code computed (io.safetensors) within 1e-4, for input A and for the padded batch B.
/// </summary>
[TestClass]
public sealed class VitAdapterParityTests
{
    private static Mask2FormerForUniversalSegmentation? _network;

    internal static string ReferenceFolder => Path.Combine(TestPaths.Reference, "vit_adapter");

    [ClassInitialize]
    public static void Load(TestContext context)
    {
        _ = context;
        _network = Mask2FormerForUniversalSegmentation.FromPretrained(ReferenceFolder);
    }

    [ClassCleanup]
    public static void Release() => _network?.Dispose();

    internal static Tensor Io(string name)
    {
        using var file = SafeTensorsFile.Open(Path.Combine(ReferenceFolder, "io.safetensors"));
        return file.ReadTensor(name);
    }

    [TestMethod]
    [DataRow("A")]
    [DataRow("B")]
    public void BackboneIntermediatesMatch(string input)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var backbone = (VitAdapterBackbone)_network!.Model.PixelLevel.Encoder;
        var trace = new Dictionary<string, Tensor>();
        var outputs = backbone.forward(Io($"input.{input}.pixel_values"), trace);
        using var file = SafeTensorsFile.Open(Path.Combine(ReferenceFolder, "io.safetensors"));
        var names = file.Entries.Select(e => e.Name).Where(n => n.StartsWith($"{input}.backbone.", StringComparison.Ordinal)).ToList();
        Assert.AreEqual(4 + 1 + 4 + 8 + 4, names.Count);
        foreach (var name in names)
        {
            var key = name[$"{input}.backbone.".Length..];
            Assert.IsTrue(trace.TryGetValue(key, out var actual), $"no traced tensor for {name}");
            ReferenceData.AssertClose(file.ReadTensor(name), actual, name);
        }
        for (var k = 0; k < 4; k++) ReferenceData.AssertClose(file.ReadTensor($"{input}.backbone.out.{k}"), outputs[k], $"{input} output {k}");
        foreach (var t in trace.Values) t.Dispose();
    }

    [TestMethod]
    [DataRow("A")]
    [DataRow("B")]
    public void HeadIntermediatesAndLogitsMatch(string input)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var output = _network!.forward(Io($"input.{input}.pixel_values"), keepEncoderLayers: true);
        ReferenceData.AssertClose(Io($"{input}.pixel_decoder.encoder.out"), output.PixelDecoderEncoderLayers[^1].transpose(0, 1), "encoder out");
        for (var i = 0; i < 3; i++)
            ReferenceData.AssertClose(Io($"{input}.pixel_decoder.multi_scale.{i}"), output.PixelDecoderHiddenStates[i], $"multi-scale {i}");
        ReferenceData.AssertClose(Io($"{input}.pixel_decoder.mask_features"), output.PixelDecoderLastHiddenState, "mask features");
        for (var i = 0; i < 3; i++)
            ReferenceData.AssertClose(Io($"{input}.transformer_decoder.layer.{i}.query"), output.TransformerDecoderHiddenStates[i + 1], $"decoder layer {i}");
        ReferenceData.AssertClose(Io($"{input}.class_logits"), output.ClassQueriesLogits, "class logits");
        ReferenceData.AssertClose(Io($"{input}.mask_logits"), output.MasksQueriesLogits, "mask logits");
        Assert.AreEqual(3, output.AuxiliaryLogits.Count);
        for (var k = 0; k < 3; k++)
        {
            ReferenceData.AssertClose(Io($"{input}.aux.{k}.class_logits"), output.AuxiliaryLogits[k].Class, $"aux {k} class logits");
            ReferenceData.AssertClose(Io($"{input}.aux.{k}.mask_logits"), output.AuxiliaryLogits[k].Masks, $"aux {k} mask logits");
        }
    }
}
