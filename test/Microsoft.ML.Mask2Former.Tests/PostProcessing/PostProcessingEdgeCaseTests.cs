using System.Text;
using Microsoft.ML.Mask2Former.Formats;
using Microsoft.ML.Mask2Former.PostProcessing;

namespace Microsoft.ML.Mask2Former.Tests.PostProcessing;

/// <summary>Shapes are validated with clear messages; NaN and infinite logits give defined results; hostile safetensors headers are rejected.</summary>
[TestClass]
public sealed class PostProcessingEdgeCaseTests
{
    private const int Q = 3, K = 2, H = 4, W = 5;

    private static (float[] Classes, float[] Masks) Synthetic()
    {
        // Query 0: class 0 (thing) everywhere on the left; query 1: class 1 (stuff) on the right; query 2: no object.
        var classes = new float[] { 6, 0, 0, 0, 6, 0, 0, 0, 6 };
        var masks = new float[Q * H * W];
        for (var y = 0; y < H; y++)
            for (var x = 0; x < W; x++)
            {
                masks[0 * H * W + y * W + x] = x < 2 ? 5 : -5;
                masks[1 * H * W + y * W + x] = x < 2 ? -5 : 5;
                masks[2 * H * W + y * W + x] = 5;
            }
        return (classes, masks);
    }

    [TestMethod]
    public void ShapeMismatchNamesExpectedAndFound()
    {
        var (classes, masks) = Synthetic();
        var e = Assert.ThrowsExactly<ArgumentException>(() => new Mask2FormerLogits(classes.AsSpan(1), masks, Q, K, H, W));
        StringAssert.Contains(e.Message, "[Q=3, K+1=3] = 9 floats; found 8");
        e = Assert.ThrowsExactly<ArgumentException>(() => new Mask2FormerLogits(classes, masks, Q, K, H, W + 1));
        StringAssert.Contains(e.Message, "[Q=3, 4, 6] = 72 floats; found 60");
        Assert.ThrowsExactly<ArgumentException>(() => new Mask2FormerLogits(classes, masks, 0, K, H, W));
        Assert.ThrowsExactly<ArgumentException>(() => new ImageGeometry(8, 8, 9, 8, 8, 8));
        var logits = new Mask2FormerLogits(classes, masks, Q, K, H, W);
        var bad = new PanopticOptions { ThingClasses = [5] };
        var e2 = Assert.ThrowsExactly<ArgumentException>(() => Mask2FormerPostProcessor.Panoptic(new Mask2FormerLogits(classes, masks, Q, K, H, W), ImageGeometry.Unpadded(H, W), bad));
        StringAssert.Contains(e2.Message, "Thing class 5");
        Assert.AreEqual(Q, logits.NumQueries);
    }

    [TestMethod]
    public void SyntheticPanopticHasOneThingAndOneStuffSegment()
    {
        var (classes, masks) = Synthetic();
        var result = Mask2FormerPostProcessor.Panoptic(new Mask2FormerLogits(classes, masks, Q, K, H, W), ImageGeometry.Unpadded(H, W),
            new PanopticOptions { ThingClasses = [0] });
        Assert.HasCount(2, result.Segments);
        Assert.AreEqual((1, 0, true), (result.Segments[0].Id, result.Segments[0].CategoryId, result.Segments[0].IsThing));
        Assert.AreEqual((2, 1, false), (result.Segments[1].Id, result.Segments[1].CategoryId, result.Segments[1].IsThing));
        Assert.AreEqual(8L, result.Segments[0].Area);
        Assert.AreEqual(new PixelBox(0, 0, 2, 4), result.Segments[0].Box);
        Assert.AreEqual(new PixelBox(2, 0, 3, 4), result.Segments[1].Box);
        Assert.AreEqual(1, result.SegmentIds[0]);
        Assert.AreEqual(2, result.SegmentIds[W - 1]);
    }

    [TestMethod]
    public void NaNClassLogitsDropTheQueryWithoutThrowing()
    {
        var (classes, masks) = Synthetic();
        classes[0] = float.NaN;
        var logits = new Mask2FormerLogits(classes, masks, Q, K, H, W);
        var geometry = ImageGeometry.Unpadded(H, W);
        var panoptic = Mask2FormerPostProcessor.Panoptic(logits, geometry, new PanopticOptions { ThingClasses = [0] });
        CollectionAssert.AreEqual(new[] { 1 }, panoptic.KeptQueries.ToArray(), "query 0 has NaN probabilities and is not kept");
        var instances = Mask2FormerPostProcessor.Instances(logits, geometry, new InstanceOptions { TopK = 2 });
        Assert.AreEqual(0, instances.Instances[0].QueryIndex, "NaN ranks first in the top-k, as in torch.topk");
        Assert.IsTrue(float.IsNaN(instances.Instances[0].Score));
        var semantic = Mask2FormerPostProcessor.Semantic(logits, geometry);
        Assert.IsTrue(semantic.ClassMap.All(c => c == 0), "NaN scores win the argmax at the first class");
        var hf = HuggingFacePostProcessor.Panoptic(logits, new HuggingFaceOptions { TargetSize = (H, W) });
        Assert.AreEqual(H * W, hf.Map.Length);
    }

    [TestMethod]
    public void NaNAndInfiniteMaskLogitsGiveDefinedMaps()
    {
        var (classes, masks) = Synthetic();
        masks[0] = float.NaN;
        masks[1] = float.PositiveInfinity;
        masks[H * W + 2] = float.NegativeInfinity;
        var logits = new Mask2FormerLogits(classes, masks, Q, K, H, W);
        var geometry = new ImageGeometry(H, W, H, W, 2 * H, 2 * W);
        var panoptic = Mask2FormerPostProcessor.Panoptic(logits, geometry, new PanopticOptions { ThingClasses = [0] });
        Assert.AreEqual(4 * H * W, panoptic.SegmentIds.Length);
        Assert.AreEqual(0, panoptic.SegmentIds[0], "a NaN pixel wins the argmax but is below 0.5: no segment");
        var instances = Mask2FormerPostProcessor.Instances(logits, geometry);
        Assert.AreEqual(Q * K, instances.Instances.Length, "TopK above Q·K keeps every pair");
        Assert.IsFalse(instances.Instances.Single(i => i.QueryIndex == 0 && i.ClassId == 0).Mask[0, 0]);
        _ = Mask2FormerPostProcessor.Semantic(logits, geometry, new SemanticOptions { IncludeScores = true });
        _ = HuggingFacePostProcessor.Instances(logits);
        _ = HuggingFacePostProcessor.Semantic(logits);
    }

    [TestMethod]
    public void NothingKeptGivesZeroMapOrHuggingFaceMinusOneFloatMap()
    {
        var (classes, masks) = Synthetic();
        var logits = new Mask2FormerLogits(classes, masks, Q, K, H, W);
        var d2 = Mask2FormerPostProcessor.Panoptic(logits, ImageGeometry.Unpadded(H, W), new PanopticOptions { ObjectMaskThreshold = 0.999 });
        Assert.IsTrue(d2.SegmentIds.All(v => v == 0));
        Assert.IsEmpty(d2.Segments);
        var hf = HuggingFacePostProcessor.Panoptic(logits, new HuggingFaceOptions { Threshold = 0.999, TargetSize = (7, 9) });
        Assert.IsTrue(hf.IsFloatMap);
        Assert.AreEqual(63, hf.Map.Length);
        Assert.IsTrue(hf.Map.All(v => v == -1));
    }

    private static string WriteRaw(string headerJson, int dataBytes)
    {
        var header = Encoding.UTF8.GetBytes(headerJson);
        var bytes = new byte[8 + header.Length + dataBytes];
        BitConverter.TryWriteBytes(bytes.AsSpan(0, 8), (ulong)header.Length);
        header.CopyTo(bytes, 8);
        var path = Path.Combine(TestPaths.NewTempFolder(), "t.safetensors");
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [TestMethod]
    public void SafeTensorsReaderReadsTypedArrays()
    {
        var path = WriteRaw("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"I64","shape":[1],"data_offsets":[8,16]}}""", 16);
        using var file = SafeTensorsReader.Open(path);
        Assert.HasCount(2, file.ReadSingles("a"));
        Assert.HasCount(1, file.ReadInt64s("b"));
        var e = Assert.ThrowsExactly<DataFormatException>(() => file.ReadSingles("b"));
        StringAssert.Contains(e.Message, "tensor 'b' is I64, not F32");
        Assert.AreEqual(Path.GetFullPath(path), e.FilePath);
    }

    [TestMethod]
    public void SafeTensorsReaderRejectsHostileHeadersNamingFileAndTensor()
    {
        foreach (var (header, data, expected) in new[]
        {
            ("""{"x":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}""", 8, "tensor 'x': shape [3] of F32 needs 12 bytes"),
            ("""{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,800]}}""", 8, "tensor 'x': data_offsets [0, 800] run past the end"),
            ("""{"x":{"dtype":"Q4","shape":[2],"data_offsets":[0,8]}}""", 8, "tensor 'x': unknown or unsupported dtype 'Q4'"),
            ("""{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"y":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", 8, "overlap"),
            ("""{"x":""", 0, "not valid JSON"),
        })
        {
            var path = WriteRaw(header, data);
            var e = Assert.ThrowsExactly<DataFormatException>(() => SafeTensorsReader.Open(path).Dispose(), header);
            StringAssert.Contains(e.Message, expected);
            StringAssert.Contains(e.Message, Path.GetFullPath(path));
        }
    }
}
