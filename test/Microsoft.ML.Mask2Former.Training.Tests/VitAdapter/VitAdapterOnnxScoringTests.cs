using Microsoft.ML.Data;
using Microsoft.ML.Mask2Former.Data;
using Microsoft.ML.Mask2Former.Scoring;
using Microsoft.ML.Mask2Former.Training.Checkpoints;
using Microsoft.ML.Mask2Former.Training.Export;
using Microsoft.ML.Mask2Former.Training.Modeling;
using static TorchSharp.torch;

namespace Microsoft.ML.Mask2Former.Training.Tests.VitAdapter;

/// <summary>
/// The ViT-Adapter reference exported from its mmdetection folder (weights as external data, its
/// test_cfg in the metadata) scores through <c>LoadImages → SegmentPanoptic</c> with no
/// post-processing options and gives mmdetection's own panoptic map of input A
/// (postprocess.safetensors <c>A.0.pan_results</c>, filter_low_score true).
/// </summary>
[TestClass]
public sealed class VitAdapterOnnxScoringTests
{
    private sealed class Row
    {
        public string ImagePath { get; set; } = "";
    }

    /// <summary>Input A back as the 160×96 RGB image it was normalised from (mean/std of img_norm_cfg).</summary>
    private static string WriteImageA(string folder)
    {
        using var scope = NewDisposeScope();
        var mean = tensor(new float[] { 123.675f, 116.28f, 103.53f }).view(1, 3, 1, 1);
        var std = tensor(new float[] { 58.395f, 57.12f, 57.375f }).view(1, 3, 1, 1);
        var rgb = VitAdapterParityTests.Io("input.A.pixel_values") * std + mean;
        var rounded = rgb.round();
        Assert.IsLessThan(1e-3, (rgb - rounded).abs().max().item<float>(), "input A is a normalised 8-bit image");
        var values = rounded.to(ScalarType.Int32).contiguous().data<int>().ToArray();
        const int H = 96, W = 160;
        var pixels = new byte[H * W * 4];
        for (var p = 0; p < H * W; p++)
        {
            pixels[4 * p] = (byte)values[2 * H * W + p];
            pixels[4 * p + 1] = (byte)values[H * W + p];
            pixels[4 * p + 2] = (byte)values[p];
            pixels[4 * p + 3] = 255;
        }
        var path = Path.Combine(folder, "a.png");
        using var image = MLImage.CreateFromPixels(W, H, MLPixelFormat.Bgra32, pixels);
        image.Save(path);
        return path;
    }

    [TestMethod]
    public void TheExportScoresThroughSegmentPanopticAsMmdetection()
    {
        var folder = TestPaths.NewTempFolder();
        var model = Path.Combine(folder, "vit_adapter.onnx");
        var options = OnnxExportOptions.FromMmdet(MmdetConfig.Load(Path.Combine(VitAdapterParityTests.ReferenceFolder, MmdetModelFolder.ConfigFile)));
        Assert.IsTrue(options.FilterLowScore, "the reference's test_cfg sets filter_low_score");
        options.ExternalDataThreshold = 0;
        OnnxExportReport report;
        using (var network = MmdetModelFolder.Load(VitAdapterParityTests.ReferenceFolder))
            report = Mask2FormerOnnxExporter.Export(network, model, options);
        Assert.AreEqual(model + ".data", report.ExternalDataPath);
        // The reference has 545,542 float32 parameters (summary.json).
        Assert.IsGreaterThanOrEqualTo(545_542L * 4, new FileInfo(report.ExternalDataPath!).Length, "the weights are in the external data file");

        var image = WriteImageA(folder);
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(new[] { new Row { ImagePath = image } });
        var pipeline = ml.Transforms.LoadImages("Image", null, nameof(Row.ImagePath))
            .Append(ml.Transforms.SegmentPanoptic(new SegmentPanopticOptions { ModelPath = model, InputHeight = 96, InputWidth = 160 }));
        var scored = pipeline.Fit(data).Transform(data);
        var map = scored.GetColumn<VBuffer<uint>>(PanopticColumnNames.PredictedSegmentMap).Single().DenseValues().ToArray();
        var ids = scored.GetColumn<VBuffer<uint>>(PanopticColumnNames.PredictedSegmentIds).Single().DenseValues().ToArray();
        var categories = scored.GetColumn<VBuffer<int>>(PanopticColumnNames.PredictedCategoryIds).Single().DenseValues().ToArray();

        long[] reference;
        using (var file = SafeTensorsFile.Open(Path.Combine(VitAdapterParityTests.ReferenceFolder, "postprocess.safetensors")))
        using (var t = file.ReadTensor("A.0.pan_results"))
            reference = t.contiguous().data<long>().ToArray();
        Assert.HasCount(reference.Length, map);
        // One segment per reference value (void = 5 classes → 0), category = class + 1 (mmdet configs carry no dataset ids).
        var valueOf = new Dictionary<uint, long>();
        var idOf = new Dictionary<long, uint>();
        for (var p = 0; p < map.Length; p++)
        {
            if (reference[p] == 5) Assert.AreEqual(0u, map[p], $"pixel {p} is void in mmdetection's map");
            if (!idOf.TryAdd(reference[p], map[p])) Assert.AreEqual(idOf[reference[p]], map[p], $"pixel {p}, reference value {reference[p]}");
            if (!valueOf.TryAdd(map[p], reference[p])) Assert.AreEqual(valueOf[map[p]], reference[p], $"pixel {p}, segment {map[p]}");
        }
        Assert.AreEqual(5, ids.Length, "input A has 5 thing segments");
        for (var i = 0; i < ids.Length; i++) Assert.AreEqual(valueOf[ids[i]] % 1000 + 1, categories[i], $"category of segment {ids[i]}");
    }
}
