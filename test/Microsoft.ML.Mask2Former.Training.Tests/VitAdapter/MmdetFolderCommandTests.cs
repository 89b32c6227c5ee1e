using System.Text.Json.Nodes;
using Microsoft.ML.Mask2Former.Training.Checkpoints;
using Microsoft.ML.Mask2Former.Training.Modeling;
using static TorchSharp.torch;
using Microsoft.ML.Mask2Former.Training.Modeling.VitAdapter;

namespace Microsoft.ML.Mask2Former.Training.Tests.VitAdapter;

/// <summary>
/// The mmdetection model folder on the command line: <c>m2f forward</c> runs it, <c>m2f convert</c> writes our
/// config.json + model.safetensors, which give outputs identical to the mmdetection folder.
/// </summary>
[TestClass]
public sealed class MmdetFolderCommandTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => CommandLine.Run(args);

    [TestMethod]
    public void TheConvertedFolderGivesIdenticalOutputs()
    {
        var output = Path.Combine(TestPaths.NewTempFolder(), "converted");
        var (code, stdout, stderr) = Run("convert", "--model", VitAdapterParityTests.ReferenceFolder, "--out", output);
        Assert.AreEqual(0, code, stderr);
        StringAssert.Contains(stdout, "model.safetensors (beit_adapter, 5 classes, 10 queries)");
        Assert.IsFalse(MmdetModelFolder.IsMmdetFolder(output));
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(output, "config.json")))!;
        Assert.AreEqual(VitAdapterConfig.Type, config["backbone_config"]!["model_type"]!.GetValue<string>());
        Assert.AreEqual(8, config["pixel_decoder_norm_groups"]!.GetValue<int>());
        var categories = config["categories"]!.AsArray();
        CollectionAssert.AreEqual(new[] { "person", "car", "dog", "sky-other-merged", "grass-merged" }, categories.Select(l => l!["name"]!.GetValue<string>()).ToArray());
        CollectionAssert.AreEqual(new[] { 1, 1, 1, 0, 0 }, categories.Select(l => l!["isthing"]!.GetValue<int>()).ToArray());

        using var original = Mask2FormerForUniversalSegmentation.FromPretrained(VitAdapterParityTests.ReferenceFolder);
        using var converted = Mask2FormerForUniversalSegmentation.FromPretrained(output);
        using var noGrad = no_grad();
        foreach (var input in new[] { "A", "B" })
        {
            using var scope = NewDisposeScope();
            var pixels = VitAdapterParityTests.Io($"input.{input}.pixel_values");
            using var a = original.forward(pixels);
            using var b = converted.forward(pixels);
            Assert.IsTrue(a.ClassQueriesLogits.eq(b.ClassQueriesLogits).all().item<bool>(), $"{input} class logits");
            Assert.IsTrue(a.MasksQueriesLogits.eq(b.MasksQueriesLogits).all().item<bool>(), $"{input} mask logits");
            ReferenceData.AssertClose(VitAdapterParityTests.Io($"{input}.mask_logits"), b.MasksQueriesLogits, $"{input} converted mask logits");
        }
    }

    [TestMethod]
    public void ForwardRunsAnMmdetFolder()
    {
        var output = Path.Combine(TestPaths.NewTempFolder(), "logits.safetensors");
        var (code, stdout, stderr) = Run("forward", "--model", VitAdapterParityTests.ReferenceFolder,
            "--inputs", Path.Combine(VitAdapterParityTests.ReferenceFolder, "io.safetensors"), "--out", output);
        Assert.AreEqual(0, code, stderr);
        StringAssert.Contains(stdout, "input.B.pixel_values -> input.B.class_queries_logits");
        using var file = SafeTensorsFile.Open(output);
        foreach (var input in new[] { "A", "B" })
        {
            ReferenceData.AssertClose(VitAdapterParityTests.Io($"{input}.class_logits"), file.ReadTensor($"input.{input}.class_queries_logits"), $"{input} class logits");
            ReferenceData.AssertClose(VitAdapterParityTests.Io($"{input}.mask_logits"), file.ReadTensor($"input.{input}.masks_queries_logits"), $"{input} mask logits");
        }
    }

    /// <summary><c>m2f export</c> of an mmdetection folder carries its img_norm_cfg and test_cfg into the metadata; fixed sizes must be multiples of 32.</summary>
    [TestMethod]
    public void ExportWritesTheMmdetSettingsIntoTheMetadata()
    {
        var output = Path.Combine(TestPaths.NewTempFolder(), "model.onnx");
        var (code, stdout, stderr) = Run("export", "--model", VitAdapterParityTests.ReferenceFolder, "--out", output);
        Assert.AreEqual(0, code, stderr);
        StringAssert.Contains(stdout, "input dynamic");
        using var session = new Microsoft.ML.OnnxRuntime.InferenceSession(output);
        var metadata = session.ModelMetadata.CustomMetadataMap;
        Assert.AreEqual("mmdetection", metadata["m2f.post_processing"]);
        Assert.AreEqual("true", metadata["m2f.filter_low_score"]);
        Assert.AreEqual("0.8", metadata["m2f.overlap_threshold"]);
        StringAssert.Contains(metadata["m2f.input_size"], "\"size_divisibility\":32");
        var mean = JsonNode.Parse(metadata["m2f.mean"])!.AsArray().Select(v => v!.GetValue<double>()).ToArray();
        Assert.AreEqual(123.675 / 255, mean[0], 1e-12);

        (code, _, stderr) = Run("export", "--model", VitAdapterParityTests.ReferenceFolder, "--out", output, "--fixed", "96x150");
        Assert.AreEqual(2, code, stderr);
        StringAssert.Contains(stderr, "multiple of 32");
    }

    [TestMethod]
    public void AMissingFolderOrTheSameFolderExitsWithTwo()
    {
        var missing = Path.Combine(TestPaths.NewTempFolder(), "none");
        var (code, _, stderr) = Run("convert", "--model", missing, "--out", TestPaths.NewTempFolder());
        Assert.AreEqual(2, code, stderr);
        StringAssert.Contains(stderr, missing);
        (code, _, stderr) = Run("convert", "--model", VitAdapterParityTests.ReferenceFolder, "--out", VitAdapterParityTests.ReferenceFolder);
        Assert.AreEqual(2, code, stderr);
        StringAssert.Contains(stderr, "they are the same folder");
    }
}
