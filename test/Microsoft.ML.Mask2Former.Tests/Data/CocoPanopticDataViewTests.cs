using Microsoft.ML.Data;
using Microsoft.ML.Mask2Former.Data;
using Microsoft.ML.Mask2Former.Formats;
using Microsoft.ML.Mask2Former.Tests.Evaluation;

namespace Microsoft.ML.Mask2Former.Tests.Data;

[TestClass]
public sealed class CocoPanopticDataViewTests
{
    private static string Case => TestPaths.EvaluationCase("sample");

    private static CocoPanopticDataView LoadSample(MLContext ml, string? pngFolder = null) =>
        ml.Data.LoadFromCocoPanoptic(Path.Combine(Case, "panoptic_gt.json"), pngFolder ?? Path.Combine(Case, "panoptic_gt"), imageFolder: Case);

    [TestMethod]
    public void SchemaAndRowsFollowTheJson()
    {
        var ml = new MLContext(seed: 1);
        var view = LoadSample(ml);
        Assert.AreEqual(6L, view.GetRowCount());
        Assert.AreEqual(133, view.Categories.Count);
        Assert.IsInstanceOfType<VectorDataViewType>(view.Schema[PanopticColumnNames.SegmentMap].Type);

        var gt = CocoPanopticDataset.Load(Path.Combine(Case, "panoptic_gt.json"));
        using var cursor = view.GetRowCursor(view.Schema);
        var getId = cursor.GetGetter<ReadOnlyMemory<char>>(view.Schema[PanopticColumnNames.ImageId]);
        var getPath = cursor.GetGetter<ReadOnlyMemory<char>>(view.Schema[PanopticColumnNames.ImagePath]);
        var getW = cursor.GetGetter<int>(view.Schema[PanopticColumnNames.Width]);
        var getH = cursor.GetGetter<int>(view.Schema[PanopticColumnNames.Height]);
        var getMap = cursor.GetGetter<VBuffer<uint>>(view.Schema[PanopticColumnNames.SegmentMap]);
        var getIds = cursor.GetGetter<VBuffer<uint>>(view.Schema[PanopticColumnNames.SegmentIds]);
        var getAreas = cursor.GetGetter<VBuffer<long>>(view.Schema[PanopticColumnNames.Areas]);
        var row = 0;
        ReadOnlyMemory<char> id = default, path = default;
        VBuffer<uint> map = default, ids = default;
        VBuffer<long> areas = default;
        while (cursor.MoveNext())
        {
            var ann = gt.Annotations[row];
            var image = gt.Images.Single(i => i.Id == ann.ImageId);
            int w = 0, h = 0;
            getId(ref id); getPath(ref path); getW(ref w); getH(ref h); getMap(ref map); getIds(ref ids); getAreas(ref areas);
            Assert.AreEqual(ann.ImageId, id.ToString());
            Assert.AreEqual(Path.Combine(Case, image.FileName), path.ToString());
            Assert.AreEqual((image.Width, image.Height), (w, h));
            Assert.AreEqual(w * h, map.Length);
            CollectionAssert.AreEqual(ann.Segments.Select(s => s.Id).ToArray(), ids.DenseValues().ToArray());
            // The JSON areas of this real COCO data are the PNG pixel counts.
            var counts = map.DenseValues().GroupBy(v => v).ToDictionary(g => g.Key, g => (long)g.Count());
            CollectionAssert.AreEqual(ann.Segments.Select(s => counts[s.Id]).ToArray(), areas.DenseValues().ToArray());
            row++;
        }
        Assert.AreEqual(6, row);
    }

    [TestMethod]
    public void SegmentMapsAreDecodedOnlyWhenRead()
    {
        var folder = TestPaths.NewTempFolder();
        foreach (var f in Directory.GetFiles(Path.Combine(Case, "panoptic_gt"))) File.Copy(f, Path.Combine(folder, Path.GetFileName(f)));
        var ml = new MLContext(seed: 1);
        var view = LoadSample(ml, folder);
        var victim = Path.Combine(folder, view.Dataset.Annotations[2].FileName);
        File.WriteAllText(victim, "not a png");

        // Columns that do not need pixels never touch the PNG.
        var ids = view.GetColumn<ReadOnlyMemory<char>>(PanopticColumnNames.ImageId).Select(m => m.ToString()).ToArray();
        Assert.AreEqual(6, ids.Length);

        var e = Assert.ThrowsExactly<DataFormatException>(() => view.GetColumn<VBuffer<uint>>(PanopticColumnNames.SegmentMap).ToArray());
        StringAssert.Contains(e.Message, victim);
    }

    private sealed class ScoredRow
    {
        public string ImageId { get; set; } = "";
        [VectorType] public uint[] SegmentMap { get; set; } = [];
        [VectorType] public uint[] SegmentIds { get; set; } = [];
        [VectorType] public int[] CategoryIds { get; set; } = [];
        [VectorType] public bool[] IsCrowd { get; set; } = [];
        [VectorType] public long[] Areas { get; set; } = [];
        [VectorType] public uint[] PredictedSegmentMap { get; set; } = [];
        [VectorType] public uint[] PredictedSegmentIds { get; set; } = [];
        [VectorType] public int[] PredictedCategoryIds { get; set; } = [];
    }

    private static IEnumerable<ScoredRow> ScoredRows(string caseDir)
    {
        var gt = CocoPanopticDataset.Load(Path.Combine(caseDir, "panoptic_gt.json"));
        var pred = CocoPanopticDataset.Load(Path.Combine(caseDir, "panoptic_pred.json"));
        foreach (var g in gt.Annotations)
        {
            Assert.IsTrue(pred.TryGetAnnotation(g.ImageId, out var p));
            yield return new ScoredRow
            {
                ImageId = g.ImageId,
                SegmentMap = Png.ReadIds(Path.Combine(caseDir, "panoptic_gt", g.FileName), out _, out _),
                SegmentIds = g.Segments.Select(s => s.Id).ToArray(),
                CategoryIds = g.Segments.Select(s => s.CategoryId).ToArray(),
                IsCrowd = g.Segments.Select(s => s.IsCrowd).ToArray(),
                Areas = g.Segments.Select(s => s.Area ?? -1).ToArray(),
                PredictedSegmentMap = Png.ReadIds(Path.Combine(caseDir, "panoptic_pred", p.FileName), out _, out _),
                PredictedSegmentIds = p.Segments.Select(s => s.Id).ToArray(),
                PredictedCategoryIds = p.Segments.Select(s => s.CategoryId).ToArray(),
            };
        }
    }

    [TestMethod]
    [DataRow("sample")]
    [DataRow("synth")]
    public void EvaluateOverAnIDataViewMatchesPanopticapi(string caseName)
    {
        var ml = new MLContext(seed: 1);
        var dir = TestPaths.EvaluationCase(caseName);
        var categories = CocoPanopticDataset.Load(Path.Combine(dir, "panoptic_gt.json")).Categories;
        var data = ml.Data.LoadFromEnumerable(ScoredRows(dir));
        var metrics = ml.PanopticSegmentation().Evaluate(data, categories);
        PanopticReferenceTests.AssertMatches(ReferenceExpectations.Load(caseName), metrics);
    }

    [TestMethod]
    public void EvaluateNamesAMissingOrMistypedColumn()
    {
        var ml = new MLContext(seed: 1);
        var view = LoadSample(ml);
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.PanopticSegmentation().Evaluate(view, view.Categories));
        StringAssert.Contains(e.Message, PanopticColumnNames.PredictedSegmentMap);

        var renamed = ml.Transforms.CopyColumns(PanopticColumnNames.PredictedSegmentMap, PanopticColumnNames.CategoryIds)
            .Append(ml.Transforms.CopyColumns(PanopticColumnNames.PredictedSegmentIds, PanopticColumnNames.SegmentIds))
            .Append(ml.Transforms.CopyColumns(PanopticColumnNames.PredictedCategoryIds, PanopticColumnNames.CategoryIds))
            .Fit(view).Transform(view);
        e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.PanopticSegmentation().Evaluate(renamed, view.Categories));
        StringAssert.Contains(e.Message, "'PredictedSegmentMap' must be a vector of UInt32");
    }
}
