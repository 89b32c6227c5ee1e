using Microsoft.ML.Mask2Former.Scoring;
using Microsoft.ML.Mask2Former.Training.Export;
using Microsoft.ML.Mask2Former.Training.Modeling;
using Microsoft.ML.OnnxRuntime;
using DenseTensor = Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>;
using Tensor = TorchSharp.torch.Tensor;
using static TorchSharp.torch;

namespace Microsoft.ML.Mask2Former.Training.Tests.Export;

/// <summary>
/// The exported ONNX graph run by ONNX Runtime against the TorchSharp forward of the same weights
/// and against the Hugging Face reference logits, at several sizes from one dynamic-size export.
/// </summary>
[TestClass]
public sealed class OnnxExportParityTests
{
    public TestContext TestContext { get; set; } = null!;

    private static Mask2FormerForUniversalSegmentation? _network;
    private static byte[]? _onnx;

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

    private static byte[] Onnx => _onnx ??= Mask2FormerOnnxExporter.ExportToBytes(Network);

    [ClassCleanup]
    public static void Cleanup()
    {
        _network?.Dispose();
        _network = null;
    }

    internal static (Tensor Classes, Tensor Masks) RunOnnx(byte[] model, Tensor pixels)
    {
        using var options = new SessionOptions { IntraOpNumThreads = 1, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        using var session = new InferenceSession(model, options);
        var data = pixels.contiguous().data<float>().ToArray();
        var input = new DenseTensor(data, pixels.shape.Select(d => (int)d).ToArray());
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("pixel_values", input)]);
        Tensor Get(string name)
        {
            var t = results.First(r => r.Name == name).AsTensor<float>();
            return tensor(t.ToArray(), t.Dimensions.ToArray().Select(d => (long)d).ToArray());
        }
        return (Get("class_queries_logits"), Get("masks_queries_logits"));
    }

    [TestMethod]
    [DataRow("A")]
    [DataRow("B")]
    public void OnnxRuntimeEqualsTheReferenceLogits(string input)
    {
        using var scope = NewDisposeScope();
        var (classes, masks) = RunOnnx(Onnx, ReferenceData.Io($"input.{input}.pixel_values"));
        var c = ReferenceData.AssertClose(ReferenceData.Io($"{input}.class_queries_logits"), classes, $"{input} class logits");
        var m = ReferenceData.AssertClose(ReferenceData.Io($"{input}.masks_queries_logits"), masks, $"{input} mask logits");
        TestContext.WriteLine($"{input}: max abs diff classes {c:E2}, masks {m:E2}");
    }

    [TestMethod]
    [DataRow(1, 96, 160)]
    [DataRow(2, 128, 128)]
    [DataRow(1, 97, 131)]
    [DataRow(1, 203, 150)]
    [DataRow(1, 33, 45)]
    // Full resolution: level maps of 100×152 / 50×76 / 25×38 and 19,950 deformable queries, sampling
    // grids and attention-mask products at the sizes the benchmarks run.
    [DataRow(1, 800, 1216)]
    public void OnnxRuntimeEqualsTorchSharpAtAnySize(int batch, int height, int width)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        manual_seed(height * 1000 + width);
        var pixels = randn(batch, 3, height, width);
        using var expected = Network.forward(pixels);
        var (classes, masks) = RunOnnx(Onnx, pixels);
        var c = ReferenceData.AssertClose(expected.ClassQueriesLogits, classes, $"{height}x{width} class logits");
        var m = ReferenceData.AssertClose(expected.MasksQueriesLogits, masks, $"{height}x{width} mask logits");
        TestContext.WriteLine($"{batch}x{height}x{width}: max abs diff classes {c:E2}, masks {m:E2}");
    }

    [TestMethod]
    public void TheGraphIsSmallAndCarriesTheMetadata()
    {
        var path = Path.Combine(TestPaths.NewTempFolder(), "small.onnx");
        var report = Mask2FormerOnnxExporter.Export(Network, path, new OnnxExportOptions
        {
            Labels = Enumerable.Range(0, 10).Select(i => new Mask2FormerLabel(i + 1, Network.Config.Labels[i], i < 6)).ToArray(),
        });
        TestContext.WriteLine($"nodes {report.Nodes}, initializers {report.Initializers}, {report.Bytes} bytes");
        // The PyTorch export of the same model has 11,846 nodes (small_onnx_report.json).
        Assert.IsLessThan(3000, report.Nodes);
        Assert.AreEqual("dynamic", report.InputSize);
        using var session = new InferenceSession(path);
        var meta = session.ModelMetadata.CustomMetadataMap;
        StringAssert.Contains(meta["m2f.labels"], "\"isthing\":0");
        Assert.AreEqual("0.8", meta["m2f.object_mask_threshold"]);
        StringAssert.Contains(meta["m2f.input_size"], "dynamic");
        var input = session.InputMetadata["pixel_values"];
        CollectionAssert.AreEqual(new[] { -1, 3, -1, -1 }, input.Dimensions);
        CollectionAssert.AreEquivalent(new[] { "class_queries_logits", "masks_queries_logits" }, session.OutputMetadata.Keys.ToArray());
    }

    [TestMethod]
    public void AFixedSizeExportDeclaresItsShape()
    {
        var bytes = Mask2FormerOnnxExporter.ExportToBytes(Network, new OnnxExportOptions { FixedHeight = 96, FixedWidth = 160 });
        using var session = new InferenceSession(bytes);
        CollectionAssert.AreEqual(new[] { -1, 3, 96, 160 }, session.InputMetadata["pixel_values"].Dimensions);
        CollectionAssert.AreEqual(new[] { -1, 12, 24, 40 }, session.OutputMetadata["masks_queries_logits"].Dimensions);
        using var scope = NewDisposeScope();
        var (classes, _) = RunOnnx(bytes, ReferenceData.Io("input.A.pixel_values"));
        ReferenceData.AssertClose(ReferenceData.Io("A.class_queries_logits"), classes, "fixed-size export, input A");
        Assert.ThrowsExactly<ArgumentException>(() => Mask2FormerOnnxExporter.ExportToBytes(Network, new OnnxExportOptions { FixedHeight = 96 }));
    }

    [TestMethod]
    public void ExportingInsideADisposeScopeLeavesTheNetworkWhole()
    {
        // TorchSharp registers some module tensors (Embedding weights) in the caller's scope when the
        // state dict is taken; an export (or checkpoint) inside a scope must not lose them.
        var before = Network.state_dict().Count;
        using (NewDisposeScope()) Mask2FormerOnnxExporter.ExportToBytes(Network);
        using (NewDisposeScope()) Microsoft.ML.Mask2Former.Training.Checkpoints.ModuleCheckpoint.Save(Network, Path.Combine(TestPaths.NewTempFolder(), "w.safetensors"));
        Assert.AreEqual(before, Network.state_dict().Count);
        Assert.IsTrue(Network.state_dict().ContainsKey("model.transformer_module.queries_embedder.weight"));
    }

    [TestMethod]
    public void AResNet50ConfigExportsAndMatchesTorchSharp()
    {
        using var network = new Mask2FormerForUniversalSegmentation(Presets.ResNet50(numLabels: 5));
        network.eval();
        using (var scope = NewDisposeScope())
        using (no_grad())
        {
            // Non-trivial frozen batch-norm statistics and level embeddings, so every weight matters.
            manual_seed(7);
            foreach (var (name, t) in Microsoft.ML.Mask2Former.Training.Checkpoints.ModuleCheckpoint.StateDict(network))
            {
                if (name.EndsWith("running_var", StringComparison.Ordinal)) t.copy_(rand_like(t) + 0.5);
                else if (name.EndsWith("running_mean", StringComparison.Ordinal) || name.Contains("level_embed")) t.copy_(randn_like(t) * 0.1);
            }
        }
        var bytes = Mask2FormerOnnxExporter.ExportToBytes(network);
        foreach (var (h, w) in new[] { (96, 128), (75, 101) })
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var pixels = randn(1, 3, h, w);
            using var expected = network.forward(pixels);
            var (classes, masks) = RunOnnx(bytes, pixels);
            var c = ReferenceData.AssertClose(expected.ClassQueriesLogits, classes, $"ResNet-50 {h}x{w} class logits");
            var m = ReferenceData.AssertClose(expected.MasksQueriesLogits, masks, $"ResNet-50 {h}x{w} mask logits");
            TestContext.WriteLine($"ResNet-50 {h}x{w}: max abs diff classes {c:E2}, masks {m:E2}");
        }
    }
}
