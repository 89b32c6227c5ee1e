using Microsoft.ML.Data;
using Microsoft.ML.Mask2Former.Evaluation;
using Microsoft.ML.Mask2Former.Formats;

namespace Microsoft.ML.Mask2Former.Tests.Evaluation.Instances;

/// <summary>
/// <c>mlContext.InstanceSegmentation().Evaluate</c> over an <see cref="IDataView"/> of panoptic
/// ground truth and instance predictions with the default column names gives pycocotools' numbers:
/// the reference's instance ground truth is the panoptic ground truth's thing segments, which the
/// evaluator derives itself from the segment maps.
/// </summary>
[TestClass]
public sealed class InstanceSegmentationCatalogTests
{
    private sealed class Row
    {
        public string ImageId { get; set; } = "";
        public int Height { get; set; }
        public int Width { get; set; }
        [VectorType] public uint[] SegmentMap { get; set; } = [];
        [VectorType] public uint[] SegmentIds { get; set; } = [];
        [VectorType] public int[] CategoryIds { get; set; } = [];
        [VectorType] public bool[] IsCrowd { get; set; } = [];
        [VectorType] public long[] Areas { get; set; } = [];
        [VectorType] public int[] PredictedInstanceCategoryIds { get; set; } = [];
        [VectorType] public float[] PredictedInstanceScores { get; set; } = [];
        [VectorType] public float[] PredictedInstanceBoxes { get; set; } = [];
        [VectorType] public string[] PredictedInstanceMasks { get; set; } = [];
    }

    private static IEnumerable<Row> Rows(string caseDir, string iouType)
    {
        var gt = CocoPanopticDataset.Load(Path.Combine(caseDir, "panoptic_gt.json"));
        var detections = CocoResultsFile.Load(Path.Combine(caseDir, $"detections_{iouType}.json")).ToLookup(d => d.ImageId);
        foreach (var a in gt.Annotations)
        {
            var image = gt.Images.Single(i => i.Id == a.ImageId);
            var mine = detections[a.ImageId].ToArray();
            yield return new Row
            {
                ImageId = a.ImageId,
                Height = image.Height,
                Width = image.Width,
                SegmentMap = Png.ReadIds(Path.Combine(caseDir, "panoptic_gt", a.FileName), out _, out _),
                SegmentIds = a.Segments.Select(s => s.Id).ToArray(),
                CategoryIds = a.Segments.Select(s => s.CategoryId).ToArray(),
                IsCrowd = a.Segments.Select(s => s.IsCrowd).ToArray(),
                Areas = a.Segments.Select(s => s.Area ?? -1).ToArray(),
                PredictedInstanceCategoryIds = mine.Select(d => d.CategoryId).ToArray(),
                PredictedInstanceScores = mine.Select(d => (float)d.Score).ToArray(),
                PredictedInstanceBoxes = mine.SelectMany(d => d.BoundingBox?.Select(v => (float)v) ?? [0f, 0f, 0f, 0f]).ToArray(),
                PredictedInstanceMasks = mine.Select(d => d.Segmentation?.ToRle(image.Height, image.Width).ToCompressedString() ?? "").ToArray(),
            };
        }
    }

    [TestMethod]
    [DataRow("sample", "bbox")]
    [DataRow("sample", "segm")]
    [DataRow("synth", "bbox")]
    [DataRow("synth", "segm")]
    public void EvaluateOverAnIDataViewMatchesPycocotools(string caseName, string iouType)
    {
        var ml = new MLContext(seed: 1);
        var dir = TestPaths.EvaluationCase(caseName);
        var categories = CocoPanopticDataset.Load(Path.Combine(dir, "panoptic_gt.json")).Categories;
        var data = ml.Data.LoadFromEnumerable(Rows(dir, iouType));
        var metrics = ml.InstanceSegmentation().Evaluate(data, categories, new InstanceEvaluationOptions
        {
            IouType = iouType == "bbox" ? InstanceIouType.BoundingBox : InstanceIouType.Segmentation,
        });
        var expected = ReferenceExpectations.Load(caseName).GetProperty("coco_" + iouType).GetProperty("stats").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        for (var i = 0; i < 12; i++)
            Assert.AreEqual(expected[i], metrics.Stats[i], 1e-9, $"{caseName} {iouType} {InstanceSegmentationMetrics.StatNames[i]}");
    }

    [TestMethod]
    public void BadRowsAreNamedByImage()
    {
        var ml = new MLContext(seed: 1);
        var dir = TestPaths.EvaluationCase("sample");
        var categories = CocoPanopticDataset.Load(Path.Combine(dir, "panoptic_gt.json")).Categories;
        var rows = Rows(dir, "segm").ToArray();
        rows[1].PredictedInstanceScores = [.. rows[1].PredictedInstanceScores, 0.5f];
        var e = Assert.ThrowsExactly<DataFormatException>(() => ml.InstanceSegmentation().Evaluate(ml.Data.LoadFromEnumerable(rows), categories));
        StringAssert.Contains(e.Message, $"image id {rows[1].ImageId}");
        StringAssert.Contains(e.Message, "disagree");

        rows = Rows(dir, "segm").ToArray();
        rows[2].PredictedInstanceMasks[0] = "not an RLE";
        e = Assert.ThrowsExactly<DataFormatException>(() => ml.InstanceSegmentation().Evaluate(ml.Data.LoadFromEnumerable(rows), categories));
        StringAssert.Contains(e.Message, $"image id {rows[2].ImageId}");
        StringAssert.Contains(e.Message, "predicted mask 0");
    }
}
