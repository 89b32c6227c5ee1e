using Microsoft.ML.Data;
using Microsoft.ML.Mask2Former.Data;
using Microsoft.ML.Mask2Former.Scoring;
using Microsoft.ML.Mask2Former.Training.Export;
using Microsoft.ML.Mask2Former.Training.Modeling;
using Microsoft.ML.OnnxRuntime;
using static TorchSharp.torch;

namespace Microsoft.ML.Mask2Former.Training.Tests.Export;

/// <summary>
/// The opt-in dynamic int8 export (<see cref="OnnxQuantization.DynamicInt8"/>): it loads, runs through
/// the ML.NET transform, stays close to the float32 export of the same weights, and unsupported
/// values of the option are refused.
/// </summary>
[TestClass]
public sealed class QuantizedExportTests
{
    public TestContext TestContext { get; set; } = null!;

    private sealed class Row
    {
        public string ImagePath { get; set; } = "";
    }

    private static Mask2FormerForUniversalSegmentation Network()
    {
        var folder = TestPaths.NewTempFolder();
        File.Copy(ReferenceData.ConfigFile, Path.Combine(folder, "config.json"));
        File.Copy(ReferenceData.ModelFile, Path.Combine(folder, "model.safetensors"));
        return Mask2FormerForUniversalSegmentation.FromPretrained(folder);
    }

    [TestMethod]
    public void AnInt8ExportRunsAndItsLogitsStayCloseToFloat32()
    {
        using var network = Network();
        var options = new OnnxExportOptions { FixedHeight = 96, FixedWidth = 160 };
        var folder = TestPaths.NewTempFolder();
        var fp32Report = Mask2FormerOnnxExporter.Export(network, Path.Combine(folder, "fp32.onnx"), options);
        options.Quantization = OnnxQuantization.DynamicInt8;
        var int8Report = Mask2FormerOnnxExporter.Export(network, Path.Combine(folder, "int8.onnx"), options);
        var fp32 = File.ReadAllBytes(fp32Report.Path);
        var int8 = File.ReadAllBytes(int8Report.Path);

        TestContext.WriteLine($"float32 {fp32.Length} bytes, int8 {int8.Length} bytes, {int8Report.QuantizedMatrixProducts} quantised matrix products");
        Assert.AreEqual(0, fp32Report.QuantizedMatrixProducts);
        // Every linear layer of Swin and of the pixel decoder and transformer decoder but the output layers.
        Assert.IsGreaterThan(50, int8Report.QuantizedMatrixProducts);
        Assert.IsLessThan(fp32.Length / 2, int8.Length);
        using (var session = new InferenceSession(int8))
            Assert.AreEqual("dynamic-int8", session.ModelMetadata.CustomMetadataMap["m2f.quantization"]);

        using var scope = NewDisposeScope();
        manual_seed(11);
        var pixels = randn(1, 3, 96, 160);
        var (classes, masks) = OnnxExportParityTests.RunOnnx(fp32, pixels);
        var (qClasses, qMasks) = OnnxExportParityTests.RunOnnx(int8, pixels);
        // int8 weights (per column, 1/254 of the column's range) and activations (1/255 of the tensor's
        // range) err by about 1 % per layer, and the reference model's random weights compound that over
        // its dozens of layers: measured, the int8 logits' rms error is 16 % of the float32 logits' spread
        // for the classes and 15 % for the masks, correlations 0.987 and 0.989. A third of the spread and a
        // correlation of 0.95 still catch a broken scale, a transposed weight or a lost bias (correlation ≈ 0).
        var measured = new[] { ("class", classes, qClasses), ("mask", masks, qMasks) }.Select(c =>
        {
            var rms = (c.Item3 - c.Item2).square().mean().sqrt().item<float>();
            var spread = c.Item2.std().item<float>();
            var correlation = corrcoef(stack([c.Item2.flatten(), c.Item3.flatten()])).index(0, 1).item<float>();
            TestContext.WriteLine($"{c.Item1} logits: rms error {rms:E3} against spread {spread:E3} ({100 * rms / spread:F1} %), correlation {correlation:F5}");
            return (Name: c.Item1, Rms: rms, Spread: spread, Correlation: correlation);
        }).ToArray();
        foreach (var (name, rms, spread, correlation) in measured)
        {
            Assert.IsLessThan(spread / 3, rms, $"{name} logits: rms error {rms} against spread {spread}");
            Assert.IsGreaterThan(0.95f, correlation, $"{name} logits");
        }
    }

    [TestMethod]
    public void AnInt8ExportScoresThroughTheMlNetTransform()
    {
        using var network = Network();
        var folder = TestPaths.NewTempFolder();
        var model = Path.Combine(folder, "int8.onnx");
        Mask2FormerOnnxExporter.Export(network, model, new OnnxExportOptions { FixedHeight = 96, FixedWidth = 160, Quantization = OnnxQuantization.DynamicInt8 });
        var pixels = new byte[160 * 96 * 4];
        for (var i = 0; i < pixels.Length; i++) pixels[i] = i % 4 == 3 ? (byte)255 : (byte)(i * 37 % 251);
        var image = Path.Combine(folder, "image.png");
        using (var mlImage = MLImage.CreateFromPixels(160, 96, MLPixelFormat.Bgra32, pixels)) mlImage.Save(image);

        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(new[] { new Row { ImagePath = image } });
        var pipeline = ml.Transforms.LoadImages("Image", null, nameof(Row.ImagePath))
            .Append(ml.Transforms.SegmentPanoptic(new SegmentPanopticOptions
            {
                ModelPath = model,
                InputHeight = 96,
                InputWidth = 160,
                // Random weights are never 0.8-confident: keep every query that is not "no object".
                ObjectMaskThreshold = 0.0,
                OverlapThreshold = 0.5,
            }));
        var scored = pipeline.Fit(data).Transform(data);
        var map = scored.GetColumn<VBuffer<uint>>(PanopticColumnNames.PredictedSegmentMap).Single().DenseValues().ToArray();
        var ids = scored.GetColumn<VBuffer<uint>>(PanopticColumnNames.PredictedSegmentIds).Single().DenseValues().ToArray();
        Assert.HasCount(96 * 160, map);
        Assert.IsGreaterThan(0, ids.Length, "some segments survive");
        CollectionAssert.IsSubsetOf(map.Where(v => v != 0).Distinct().ToArray(), ids);
    }

    [TestMethod]
    public void AnUnsupportedQuantizationIsRefused()
    {
        using var network = Network();
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() =>
            Mask2FormerOnnxExporter.ExportToBytes(network, new OnnxExportOptions { Quantization = (OnnxQuantization)4 }));
        StringAssert.Contains(e.Message, "Quantization 4 is not supported");
        StringAssert.Contains(e.Message, nameof(OnnxQuantization.DynamicInt8));
    }
}
