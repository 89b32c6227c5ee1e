using Microsoft.ML.Mask2Former.Formats;
using Microsoft.ML.Mask2Former.Training.Data;

namespace Microsoft.ML.Mask2Former.Training.Tests.Training;

[TestClass]
public sealed class TrainingDataTests
{
    private static TrainingAugmentation Jitter(int size = 64) => new()
    {
        Mode = ImageResizeMode.LargeScaleJitter,
        Size = size,
        PixelMean = [123.675, 116.28, 103.53],
        PixelStd = [58.395, 57.12, 57.375],
    };

    [TestMethod]
    public void ReaderGivesOneMaskPerNonCrowdSegmentWithItsClass()
    {
        var data = TrainingFixtures.Synthetic(images: 2, size: 48, maxThings: 3, seed: 1);
        var set = CocoPanopticTrainingSet.Open(data);
        Assert.AreEqual(2, set.Count);
        CollectionAssert.AreEqual(new[] { "circle", "square", "triangle", "cross", "sky", "grass", "sand" }, set.Labels.ToArray());
        CollectionAssert.AreEqual(new[] { true, true, true, true, false, false, false }, set.IsThing.ToArray());
        var image = set.Load(0);
        var annotation = set.Annotation(0);
        Assert.HasCount(annotation.Segments.Count, image.Labels);
        for (var s = 0; s < annotation.Segments.Count; s++)
        {
            var segment = annotation.Segments[s];
            Assert.AreEqual(set.CategoryIds[image.Labels[s]], segment.CategoryId);
            var pixels = Enumerable.Range(0, image.SegmentIds.Length).Where(p => image.SegmentIds[p] == segment.Id).ToArray();
            Assert.IsTrue(pixels.All(p => image.SegmentIndex[p] == s));
            Assert.AreEqual(segment.Area, pixels.Length);
        }
    }

    [TestMethod]
    public void CrowdSegmentsAreNotTrainedAndZeroAreaSegmentsDisappear()
    {
        var data = TrainingFixtures.Synthetic(images: 1, size: 48, maxThings: 2, seed: 3);
        var json = Path.Combine(data, "panoptic.json");
        var original = CocoPanopticDataset.Load(json);
        var a = original.Annotations[0];
        var crowd = a.Segments[0] with { IsCrowd = true };
        var ghost = new CocoPanopticSegment(0xABCDEF, a.Segments[1].CategoryId, false, 0);
        var segments = new[] { crowd }.Concat(a.Segments.Skip(1)).Append(ghost).ToList();
        new CocoPanopticDataset(original.Images, [a with { Segments = segments }], original.Categories).Save(json);

        var set = CocoPanopticTrainingSet.Open(data);
        var image = set.Load(0);
        Assert.HasCount(segments.Count - 1, image.Labels, "the crowd segment is left out");
        Assert.IsTrue(Enumerable.Range(0, image.SegmentIds.Length).Where(p => image.SegmentIds[p] == crowd.Id).All(p => image.SegmentIndex[p] == -1));
        var example = new TrainingAugmentation { Mode = ImageResizeMode.Resize, Size = 48, FlipProbability = 0, PixelMean = [0, 0, 0], PixelStd = [1, 1, 1] }.Apply(image, new Random(0));
        Assert.HasCount(segments.Count - 2, example.Labels, "the zero-area segment has no mask and is not a target");
        Assert.AreEqual(example.Labels.Length, example.SegmentIndex.Where(i => i >= 0).Distinct().Count());
    }

    [TestMethod]
    public void CategoryOutsideTheLabelSetIsAClearError()
    {
        var data = TrainingFixtures.Synthetic(images: 2, size: 32, maxThings: 2, seed: 1);
        var e = Assert.ThrowsExactly<DataFormatException>(() => CocoPanopticTrainingSet.Open(data, ["circle", "square", "triangle", "cross", "sky", "grass"]));
        StringAssert.Contains(e.Message, "'sand' is not in the model's label set");
        Assert.IsNotNull(e.ImageId);
        Assert.IsNotNull(e.ItemId);

        var options = TrainingFixtures.Fast(steps: 1, size: 32);
        options.KeepConfigLabels = true;
        Assert.ThrowsExactly<DataFormatException>(() => new Mask2FormerTrainer(options).Fit(data));
    }

    [TestMethod]
    public void ImagesWithoutAnnotationAreLeftOutWithAWarning()
    {
        var data = TrainingFixtures.Synthetic(images: 3, size: 32, maxThings: 1, seed: 1);
        var json = Path.Combine(data, "panoptic.json");
        var original = CocoPanopticDataset.Load(json);
        new CocoPanopticDataset(original.Images, original.Annotations.Where(a => a.ImageId != "2").ToList(), original.Categories).Save(json);
        var set = CocoPanopticTrainingSet.Open(data);
        Assert.AreEqual(2, set.Count);
        Assert.HasCount(1, set.Warnings);
        StringAssert.Contains(set.Warnings[0], "image 2 ('000002.png') has no annotation");
    }

    [TestMethod]
    public void MismatchedSegmentMapSizeNamesBothFiles()
    {
        var data = TrainingFixtures.Synthetic(images: 2, size: 32, maxThings: 1, seed: 1);
        Png.WriteIds(Path.Combine(data, "panoptic", "000002.png"), new uint[16 * 16], 16, 16);
        var set = CocoPanopticTrainingSet.Open(data);
        var e = Assert.ThrowsExactly<DataFormatException>(() => set.Load(1));
        StringAssert.Contains(e.Message, "the segment map is 16x16 but the image '000002.png' is 32x32");
        StringAssert.Contains(e.FilePath!, "000002.png");
    }

    [TestMethod]
    public void CorruptImageMidEpochIsSkippedWithAWarningNamingIt()
    {
        var data = TrainingFixtures.Synthetic(images: 4, size: 32, maxThings: 1, seed: 1);
        File.WriteAllBytes(Path.Combine(data, "images", "000003.png"), [0x89, (byte)'P', (byte)'N', (byte)'G', 1, 2, 3, 4, 5]);
        var warnings = new List<string>();
        var options = TrainingFixtures.Fast(steps: 4, size: 32);
        options.Warning = warnings.Add;
        using var result = new Mask2FormerTrainer(options).Fit(data).Network is var n ? new DisposableResult(n) : null!;
        Assert.IsNotEmpty(warnings);
        Assert.IsTrue(warnings.All(w => w.Contains("image 3 ('000003.png')", StringComparison.Ordinal)), string.Join("\n", warnings));
        // 4 steps × 2 images = 8 positions of 4 images: two epochs, the bad image is met (and skipped) in each.
        Assert.AreEqual(2, warnings.Count, string.Join("\n", warnings));
    }

    [TestMethod]
    public void LoaderIsDeterministicWhateverTheThreadCount()
    {
        var data = TrainingFixtures.Synthetic(images: 5, size: 48, maxThings: 3, seed: 9);
        var set = CocoPanopticTrainingSet.Open(data);
        List<TrainingExample> Load(int threads, long start)
        {
            using var loader = new TrainingDataLoader(set, Jitter(), batchSize: 3, seed: 17, threads, start);
            return Enumerable.Range(0, 4).SelectMany(_ => loader.Next().Examples).ToList();
        }
        var one = Load(1, 0);
        var four = Load(4, 0);
        Assert.HasCount(12, one);
        for (var i = 0; i < one.Count; i++)
        {
            Assert.AreEqual(one[i].ImageId, four[i].ImageId);
            CollectionAssert.AreEqual(one[i].Pixels, four[i].Pixels);
            CollectionAssert.AreEqual(one[i].SegmentIndex, four[i].SegmentIndex);
            CollectionAssert.AreEqual(one[i].Labels, four[i].Labels);
            Assert.AreEqual(64, one[i].Height);
        }
        // Every image once per epoch, in a seeded order.
        CollectionAssert.AreEquivalent(new[] { "1", "2", "3", "4", "5" }, one.Take(5).Select(e => e.ImageId).ToArray());
        // Resuming from a cursor gives the rest of the same stream.
        var resumed = Load(2, 6);
        CollectionAssert.AreEqual(one[6].Pixels, resumed[0].Pixels);
    }

    [TestMethod]
    public void BatchPadsToAMultipleOf32WithMasksOverThePaddedArea()
    {
        var a = new TrainingExample("a", 40, 30, Enumerable.Repeat(1f, 3 * 40 * 30).ToArray(), Enumerable.Repeat(0, 40 * 30).ToArray(), [2]);
        var b = new TrainingExample("b", 20, 50, new float[3 * 20 * 50], Enumerable.Repeat(-1, 20 * 50).ToArray(), []);
        using var batch = TrainingBatch.Create([a, b]);
        CollectionAssert.AreEqual(new long[] { 2, 3, 64, 64 }, batch.PixelValues.shape);
        CollectionAssert.AreEqual(new long[] { 1, 64, 64 }, batch.Targets[0].Masks.shape);
        Assert.AreEqual(40 * 30, batch.Targets[0].Masks.sum().item<float>());
        Assert.AreEqual(3 * 40 * 30, batch.PixelValues[0].sum().item<float>());
        Assert.AreEqual(0, batch.Targets[1].Count);
    }

    private sealed class DisposableResult(IDisposable inner) : IDisposable
    {
        public void Dispose() => inner.Dispose();
    }
}
