using Microsoft.ML.Mask2Former.Evaluation;
using Microsoft.ML.Mask2Former.Formats;
using Microsoft.ML.Mask2Former.Synthetic;

namespace Microsoft.ML.Mask2Former.Tests.Synthetic;

[TestClass]
public sealed class SyntheticPanopticDatasetTests
{
    private static readonly SyntheticPanopticOptions Small = new() { ImageCount = 6, Width = 96, Height = 64, Seed = 42, MaxThingsPerImage = 6 };

    private static Dictionary<string, byte[]> AllFiles(string folder) =>
        Directory.GetFiles(folder, "*", SearchOption.AllDirectories)
            .ToDictionary(f => Path.GetRelativePath(folder, f), File.ReadAllBytes);

    [TestMethod]
    public void SameSeedGivesIdenticalBytes()
    {
        var a = TestPaths.NewTempFolder();
        var b = TestPaths.NewTempFolder();
        var c = TestPaths.NewTempFolder();
        SyntheticPanopticDataset.Generate(a, Small);
        SyntheticPanopticDataset.Generate(b, Small);
        SyntheticPanopticDataset.Generate(c, new SyntheticPanopticOptions { ImageCount = 6, Width = 96, Height = 64, Seed = 43, MaxThingsPerImage = 6 });
        var filesA = AllFiles(a);
        var filesB = AllFiles(b);
        Assert.HasCount(1 + 2 * Small.ImageCount, filesA);
        CollectionAssert.AreEquivalent(filesA.Keys.ToArray(), filesB.Keys.ToArray());
        foreach (var (name, bytes) in filesA) CollectionAssert.AreEqual(bytes, filesB[name], name);

        var filesC = AllFiles(c);
        Assert.IsFalse(filesA[SyntheticPanopticDataset.AnnotationsFile].AsSpan().SequenceEqual(filesC[SyntheticPanopticDataset.AnnotationsFile]));
        Assert.IsFalse(filesA[Path.Combine("images", "000001.png")].AsSpan().SequenceEqual(filesC[Path.Combine("images", "000001.png")]));
    }

    [TestMethod]
    public void WrittenSetLoadsAndAgreesWithItsSegmentMaps()
    {
        var folder = TestPaths.NewTempFolder();
        var returned = SyntheticPanopticDataset.Generate(folder, Small);
        var set = CocoPanopticDataset.Load(Path.Combine(folder, SyntheticPanopticDataset.AnnotationsFile));
        Assert.HasCount(Small.ImageCount, set.Images);
        Assert.HasCount(Small.ImageCount, set.Annotations);
        Assert.HasCount(returned.Categories.Count, set.Categories);
        Assert.IsTrue(set.Categories.Any(c => c.IsThing) && set.Categories.Any(c => !c.IsThing));

        var thingsSeen = new HashSet<int>();
        var maxThings = 0;
        foreach (var annotation in set.Annotations)
        {
            var image = set.Images.Single(i => i.Id == annotation.ImageId);
            var ids = Png.ReadIds(Path.Combine(folder, SyntheticPanopticDataset.SegmentMapsFolder, annotation.FileName), out var w, out var h);
            Assert.AreEqual((Small.Width, Small.Height), (w, h));
            Assert.AreEqual((Small.Width, Small.Height), (image.Width, image.Height));
            // The photo is an RGB PNG of the same size.
            _ = Png.ReadIds(Path.Combine(folder, SyntheticPanopticDataset.ImagesFolder, image.FileName), out var pw, out var ph);
            Assert.AreEqual((w, h), (pw, ph));

            Assert.IsFalse(ids.Contains(0u), "every pixel belongs to a segment");
            CollectionAssert.AreEquivalent(ids.Distinct().ToArray(), annotation.Segments.Select(s => s.Id).ToArray());
            var stuff = 0;
            var things = 0;
            foreach (var segment in annotation.Segments)
            {
                var category = set.Categories.Single(c => c.Id == segment.CategoryId);
                if (category.IsThing) { things++; thingsSeen.Add(category.Id); }
                else stuff++;
                var pixels = Enumerable.Range(0, ids.Length).Where(i => ids[i] == segment.Id).ToArray();
                Assert.AreEqual(pixels.Length, segment.Area);
                var xs = pixels.Select(p => p % w).ToArray();
                var ys = pixels.Select(p => p / w).ToArray();
                CollectionAssert.AreEqual(new double[] { xs.Min(), ys.Min(), xs.Max() - xs.Min() + 1, ys.Max() - ys.Min() + 1 }, segment.BoundingBox!.ToArray());
                if (category.IsThing) Assert.IsGreaterThanOrEqualTo(6L, segment.Area!.Value, "a shape is at least half visible");
            }
            Assert.IsTrue(stuff is >= 1 and <= 3, $"{stuff} stuff segments");
            Assert.IsLessThanOrEqualTo(Small.MaxThingsPerImage, things);
            maxThings = Math.Max(maxThings, things);
        }
        Assert.IsGreaterThanOrEqualTo(2, thingsSeen.Count, "several shape classes appear");
        Assert.IsGreaterThanOrEqualTo(2, maxThings);
    }

    [TestMethod]
    public void SetEvaluatedAgainstItselfHasPerfectPanopticQuality()
    {
        var folder = TestPaths.NewTempFolder();
        SyntheticPanopticDataset.Generate(folder, Small);
        var json = Path.Combine(folder, SyntheticPanopticDataset.AnnotationsFile);
        var maps = Path.Combine(folder, SyntheticPanopticDataset.SegmentMapsFolder);
        var metrics = PanopticEvaluator.EvaluateFiles(json, maps, json, maps);
        Assert.AreEqual(1.0, metrics.PanopticQuality);
        Assert.AreEqual(1.0, metrics.Things.PanopticQuality);
        Assert.AreEqual(1.0, metrics.Stuff.PanopticQuality);
        Assert.AreEqual(Small.ImageCount, metrics.ImageCount);
        Assert.IsGreaterThanOrEqualTo(5, metrics.All.CategoryCount);
    }

    [TestMethod]
    public void NoThingsAndBadOptions()
    {
        var folder = TestPaths.NewTempFolder();
        var set = SyntheticPanopticDataset.Generate(folder, new SyntheticPanopticOptions { ImageCount = 2, Width = 32, Height = 24, MaxThingsPerImage = 0 });
        Assert.IsTrue(set.Annotations.SelectMany(a => a.Segments).All(s => s.Id <= 7 && s.CategoryId >= 5));

        Assert.ThrowsExactly<ArgumentException>(() => SyntheticPanopticDataset.Generate(folder, new SyntheticPanopticOptions { ImageCount = 0 }));
        Assert.ThrowsExactly<ArgumentException>(() => SyntheticPanopticDataset.Generate(folder, new SyntheticPanopticOptions { Width = 8 }));
        Assert.ThrowsExactly<ArgumentException>(() => SyntheticPanopticDataset.Generate(folder, new SyntheticPanopticOptions { MaxThingsPerImage = -1 }));
        Assert.ThrowsExactly<ArgumentNullException>(() => SyntheticPanopticDataset.Generate(folder, null!));
    }
}
