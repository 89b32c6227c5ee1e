using Microsoft.ML.Mask2Former.Training.Export;
using Microsoft.ML.Mask2Former.Training.Modeling;
using Microsoft.ML.Mask2Former.Training.Tests.Export;
using static TorchSharp.torch;

namespace Microsoft.ML.Mask2Former.Training.Tests.VitAdapter;

/// <summary>
/// The tiny Mask2Former + ViT-Adapter of ../shared/reference/vit_adapter, loaded from the mmdet
/// checkpoint and exported once with dynamic batch, height and width: ONNX Runtime reproduces the
/// upstream class and mask logits (io.safetensors) for input A [1, 3, 96, 160] and the padded batch
/// B [2, 3, 128, 96] from the same file.
/// </summary>
[TestClass]
public sealed class VitAdapterOnnxExportTests
{
    public TestContext TestContext { get; set; } = null!;

    private static byte[]? _onnx;

    [ClassInitialize]
    public static void Export(TestContext context)
    {
        _ = context;
        using var network = Mask2FormerForUniversalSegmentation.FromPretrained(VitAdapterParityTests.ReferenceFolder);
        _onnx = Mask2FormerOnnxExporter.ExportToBytes(network);
    }

    [TestMethod]
    [DataRow("A")]
    [DataRow("B")]
    public void OnnxRuntimeEqualsTheUpstreamLogits(string input)
    {
        using var scope = NewDisposeScope();
        var (classes, masks) = OnnxExportParityTests.RunOnnx(_onnx!, VitAdapterParityTests.Io($"input.{input}.pixel_values"));
        var c = ReferenceData.AssertClose(VitAdapterParityTests.Io($"{input}.class_logits"), classes, $"{input} class logits");
        var m = ReferenceData.AssertClose(VitAdapterParityTests.Io($"{input}.mask_logits"), masks, $"{input} mask logits");
        TestContext.WriteLine($"{input}: max abs diff classes {c:E2}, masks {m:E2}");
    }

    [TestMethod]
    public void SizesThatAreNotMultiplesOf32AreRefusedForAFixedExport()
    {
        using var network = Mask2FormerForUniversalSegmentation.FromPretrained(VitAdapterParityTests.ReferenceFolder);
        var error = Assert.ThrowsExactly<ArgumentException>(() => Mask2FormerOnnxExporter.ExportToBytes(network, new OnnxExportOptions { FixedHeight = 96, FixedWidth = 150 }));
        StringAssert.Contains(error.Message, "multiple of 32");
    }
}
