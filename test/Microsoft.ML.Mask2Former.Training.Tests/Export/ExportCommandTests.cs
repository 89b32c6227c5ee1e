using Microsoft.ML.OnnxRuntime;

namespace Microsoft.ML.Mask2Former.Training.Tests.Export;

/// <summary><c>m2f export</c>: writes a loadable dynamic-size model with the labels' metadata; bad arguments exit with 2.</summary>
[TestClass]
public sealed class ExportCommandTests
{
    private static string ModelFolder()
    {
        var folder = TestPaths.NewTempFolder();
        File.Copy(ReferenceData.ConfigFile, Path.Combine(folder, "config.json"));
        File.Copy(ReferenceData.ModelFile, Path.Combine(folder, "model.safetensors"));
        return folder;
    }

    private static (int Code, string Out, string Err) Run(params string[] args) => CommandLine.Run(args);

    [TestMethod]
    public void ExportsAFixedSizeModelWithTheGivenLabels()
    {
        var folder = ModelFolder();
        var labels = Path.Combine(folder, "labels.json");
        File.WriteAllText(labels, "{\"labels\": [" + string.Join(", ", Enumerable.Range(0, 10).Select(i => $"{{\"id\": {100 + i}, \"name\": \"c{i}\", \"isthing\": {(i < 4 ? 1 : 0)}}}")) + "], \"overlap_threshold\": 0.7}");
        var output = Path.Combine(folder, "out.onnx");
        var (code, stdout, stderr) = Run("export", "--model", folder, "--out", output, "--fixed", "96x160", "--labels", labels);
        Assert.AreEqual(0, code, stderr);
        StringAssert.Contains(stdout, "input 96x160");
        using var session = new InferenceSession(output);
        CollectionAssert.AreEqual(new[] { -1, 3, 96, 160 }, session.InputMetadata["pixel_values"].Dimensions);
        var meta = session.ModelMetadata.CustomMetadataMap;
        StringAssert.Contains(meta["m2f.labels"], "\"id\":104");
        Assert.AreEqual("0.7", meta["m2f.overlap_threshold"]);
    }

    [TestMethod]
    [DataRow("--fixed", "96by160", "HEIGHTxWIDTH")]
    [DataRow("--opset", "13", "opset 13")]
    [DataRow("--quantize", "int4", "--quantize 'int4' is not supported")]
    [DataRow("--quantize", "uint8", "the one quantisation is 'int8'")]
    public void BadArgumentsExitWithTwo(string option, string value, string message)
    {
        var folder = ModelFolder();
        var (code, _, stderr) = Run("export", "--model", folder, "--out", Path.Combine(folder, "x.onnx"), option, value);
        Assert.AreEqual(2, code);
        StringAssert.Contains(stderr, message);
        Assert.IsFalse(File.Exists(Path.Combine(folder, "x.onnx")));
    }

    [TestMethod]
    public void QuantizeInt8WritesADynamicInt8Model()
    {
        var folder = ModelFolder();
        var output = Path.Combine(folder, "int8.onnx");
        var (code, stdout, stderr) = Run("export", "--model", folder, "--out", output, "--fixed", "96x160", "--quantize", "int8");
        Assert.AreEqual(0, code, stderr);
        StringAssert.Contains(stdout, "dynamic int8");
        using var session = new InferenceSession(output);
        Assert.AreEqual("dynamic-int8", session.ModelMetadata.CustomMetadataMap["m2f.quantization"]);
    }

    [TestMethod]
    public void AMissingModelFolderOrALabelCountMismatchExitsWithTwo()
    {
        Assert.AreEqual(2, Run("export", "--model", Path.Combine(TestPaths.NewTempFolder(), "none"), "--out", "x.onnx").Code);
        var folder = ModelFolder();
        var labels = Path.Combine(folder, "labels.json");
        File.WriteAllText(labels, "{\"labels\": [{\"id\": 1, \"name\": \"a\", \"isthing\": 1}]}");
        var (code, _, stderr) = Run("export", "--model", folder, "--out", Path.Combine(folder, "x.onnx"), "--labels", labels);
        Assert.AreEqual(2, code);
        StringAssert.Contains(stderr, "10 classes");
    }
}
