using Microsoft.ML.Data;
using Microsoft.ML.Mask2Former.Data;
using Microsoft.ML.Mask2Former.Scoring;
using Microsoft.ML.Mask2Former.Training.Export;
using Microsoft.ML.Mask2Former.Training.Modeling;

namespace Microsoft.ML.Mask2Former.Training.Tests.Export;

/// <summary>
/// Our export scores through the ML.NET pipeline (LoadImages → SegmentPanoptic) like the PyTorch
/// export of the same weights (../shared/reference/model/small_model.onnx): the same panoptic output.
/// </summary>
[TestClass]
public sealed class ExportedModelScoringTests
{
    private sealed class Row
    {
        public string ImagePath { get; set; } = "";
    }

    [TestMethod]
    public void OurExportAndThePyTorchExportGiveTheSamePanopticSegmentation()
    {
        var folder = TestPaths.NewTempFolder();
        File.Copy(ReferenceData.ConfigFile, Path.Combine(folder, "config.json"));
        File.Copy(ReferenceData.ModelFile, Path.Combine(folder, "model.safetensors"));
        var ours = Path.Combine(folder, "ours.onnx");
        using (var network = Mask2FormerForUniversalSegmentation.FromPretrained(folder))
            Mask2FormerOnnxExporter.Export(network, ours, new OnnxExportOptions { FixedHeight = 96, FixedWidth = 160 });

        // A 160×96 photo-like image, so the letterbox is the identity and both models see the same tensor.
        var pixels = new byte[160 * 96 * 4];
        for (var y = 0; y < 96; y++)
            for (var x = 0; x < 160; x++)
            {
                var p = 4 * (y * 160 + x);
                var inside = (x - 60) * (x - 60) + (y - 40) * (y - 40) < 900;
                pixels[p] = (byte)(inside ? 20 : 2 * x);
                pixels[p + 1] = (byte)(inside ? 220 : 2 * y);
                pixels[p + 2] = (byte)((x * 7 + y * 13) & 0xFF);
                pixels[p + 3] = 255;
            }
        var image = Path.Combine(folder, "image.png");
        using (var mlImage = MLImage.CreateFromPixels(160, 96, MLPixelFormat.Bgra32, pixels)) mlImage.Save(image);

        var labels = Enumerable.Range(0, 10).Select(i => new Mask2FormerLabel(i + 1, "c" + i, i < 6)).ToArray();
        (uint[] Map, uint[] Ids, int[] Categories) Score(string model)
        {
            var ml = new MLContext(seed: 1);
            var data = ml.Data.LoadFromEnumerable(new[] { new Row { ImagePath = image } });
            var pipeline = ml.Transforms.LoadImages("Image", null, nameof(Row.ImagePath))
                .Append(ml.Transforms.SegmentPanoptic(new SegmentPanopticOptions
                {
                    ModelPath = model, Labels = labels, InputHeight = 96, InputWidth = 160,
                    // Random weights are never 0.8-confident: keep every query that is not "no object".
                    ObjectMaskThreshold = 0.0, OverlapThreshold = 0.5,
                }));
            var scored = pipeline.Fit(data).Transform(data);
            var map = scored.GetColumn<VBuffer<uint>>(PanopticColumnNames.PredictedSegmentMap).Single().DenseValues().ToArray();
            var ids = scored.GetColumn<VBuffer<uint>>(PanopticColumnNames.PredictedSegmentIds).Single().DenseValues().ToArray();
            var categories = scored.GetColumn<VBuffer<int>>(PanopticColumnNames.PredictedCategoryIds).Single().DenseValues().ToArray();
            return (map, ids, categories);
        }

        var mine = Score(ours);
        var pytorch = Score(Path.Combine(TestPaths.Reference, "model", "small_model.onnx"));
        Assert.HasCount(96 * 160, mine.Map);
        Assert.IsGreaterThan(0, mine.Ids.Length, "some segments survive");
        CollectionAssert.AreEqual(pytorch.Ids, mine.Ids);
        CollectionAssert.AreEqual(pytorch.Categories, mine.Categories);
        var differing = mine.Map.Zip(pytorch.Map).Count(p => p.First != p.Second);
        Assert.IsLessThanOrEqualTo(3, differing, $"{differing} of {mine.Map.Length} pixels differ (near-ties of logits equal within 2e-5 may flip)");
    }
}
