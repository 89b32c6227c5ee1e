using Microsoft.ML.Mask2Former.PostProcessing;
using Microsoft.ML.Mask2Former.ReferenceArithmetic;

namespace Microsoft.ML.Mask2Former.Tests.PostProcessing;

/// <summary>
/// mmdetection 2.25's <c>MaskFormerFusionHead</c> on the ViT-Adapter reference's logits
/// (../shared/reference/vit_adapter/postprocess.*), for input A and both images of B (B[1] padded,
/// 120×90 inside 128×96, output 180×135): upsampled masks and panoptic maps bit for bit, with and
/// without <c>filter_low_score</c>; instances (labels, masks, boxes) identical and scores within
/// 1e-5, compared as a set.
/// </summary>
[TestClass]
public sealed class MmDetectionReferenceTests
{
    public static IEnumerable<object[]> Images => MmDetectionReference.Images;

    [TestMethod]
    public void ThereAreThreeImages() => Assert.AreEqual(3, Images.Count());

    /// <summary>
    /// The resize to the padded input is the same PyTorch kernel as detectron2's, reproduced bit for
    /// bit by <see cref="TorchFloat"/>, so no tolerance is needed.
    /// </summary>
    [TestMethod]
    [DataRow("A")]
    [DataRow("B")]
    public void UpsampledMasksAreBitIdentical(string input)
    {
        var reference = MmDetectionReference.Load;
        var expected = reference.Tensors.ReadSingles($"{input}.mask_pred_upsampled");
        var shape = reference.Tensors[$"{input}.mask_pred_upsampled"].Shape;
        int batch = (int)shape[0], queries = (int)shape[1], height = (int)shape[2], width = (int)shape[3];
        var differ = 0;
        var worst = 0.0;
        for (var b = 0; b < batch; b++)
        {
            var (_, masks, q, _, h, w) = reference.Logits(input, b);
            Assert.AreEqual(queries, q);
            var upsampler = new MaskUpsampler(h, w, reference.Geometry(input, b), toOutput: false);
            Assert.AreEqual((height, width), (upsampler.Height, upsampler.Width));
            var plane = new float[height * width];
            for (var k = 0; k < queries; k++)
            {
                upsampler.Upsample(masks.AsSpan(k * h * w, h * w), plane);
                var offset = (b * queries + k) * height * width;
                for (var p = 0; p < plane.Length; p++)
                {
                    if (BitConverter.SingleToInt32Bits(plane[p]) == BitConverter.SingleToInt32Bits(expected[offset + p])) continue;
                    differ++;
                    worst = Math.Max(worst, Math.Abs(plane[p] - expected[offset + p]));
                }
            }
        }
        Assert.AreEqual(0, differ, $"{differ} of {expected.Length} upsampled mask logits differ in their bits (by up to {worst:G9})");
    }

    [TestMethod]
    [DynamicData(nameof(Images))]
    public void PanopticMapsAreIdentical(string input, int b)
    {
        var reference = MmDetectionReference.Load;
        var image = reference.Image(input, b);
        var (classes, masks, q, c, h, w) = reference.Logits(input, b);
        var logits = new Mask2FormerLogits(classes, masks, q, c - 1, h, w);
        var geometry = reference.Geometry(input, b);
        var problems = new List<string>();
        foreach (var (filter, key) in new[] { (true, "mmdet_panoptic"), (false, "mmdet_panoptic_filter_low_score_false") })
        {
            var expected = image.GetProperty(key);
            var actual = MmDetectionPostProcessor.Panoptic(logits, geometry, reference.Options(filter));
            var label = $"filter_low_score {filter}";
            if (actual.VoidLabel != reference.Root.GetProperty("void_label").GetInt32()) problems.Add($"{label}: void label {actual.VoidLabel}");
            var map = reference.Tensors.ReadInt64s(expected.GetProperty("map").GetString()!);
            var ori = MmDetectionReference.Ints(image.GetProperty("ori_shape"));
            if ((actual.Height, actual.Width) != (ori[0], ori[1])) problems.Add($"{label}: size {actual.Height}×{actual.Width}, expected {ori[0]}×{ori[1]}");
            else
            {
                var differ = Enumerable.Range(0, map.Length).Count(i => map[i] != actual.PanResults[i]);
                if (differ != 0) problems.Add($"{label}: {differ} of {map.Length} pan_results pixels differ");
            }
            var segments = expected.GetProperty("segments").EnumerateArray().Select(s =>
                $"{s.GetProperty("id").GetInt32()}:{s.GetProperty("category_id").GetInt32()}:{s.GetProperty("instance_id").GetInt32()}:{(s.GetProperty("isthing").GetBoolean() ? "t" : "s")}:{s.GetProperty("area").GetInt64()}");
            var actualSegments = actual.Segments.Where(s => s.Area > 0).Select(s => $"{s.Value}:{s.CategoryId}:{s.InstanceId}:{(s.IsThing ? "t" : "s")}:{s.Area}");
            if (!segments.Order().SequenceEqual(actualSegments.Order()))
                problems.Add($"{label}: segments [{string.Join(" ", actualSegments)}], expected [{string.Join(" ", segments)}]");
            foreach (var s in actual.Segments)
            {
                var area = actual.PanResults.Count(v => v == s.Value);
                if (area != s.Area) problems.Add($"{label}: segment {s.Value} says area {s.Area}, the map has {area}");
            }
        }
        Assert.IsEmpty(problems, string.Join("\n", problems));
    }

    /// <summary>
    /// The reference records that mmdetection with <c>filter_low_score</c> and detectron2 agree on
    /// every pixel of these images; the conversion to segment ids must then give detectron2's map and
    /// segments exactly, as detectron2's own post-processing does.
    /// </summary>
    [TestMethod]
    [DynamicData(nameof(Images))]
    public void ConvertedPanopticEqualsDetectron2(string input, int b)
    {
        var reference = MmDetectionReference.Load;
        var image = reference.Image(input, b);
        Assert.AreEqual(0, image.GetProperty("diff").GetProperty("mmdet_vs_d2").GetProperty("segment_pixels").GetInt32(), "the reference says they agree");
        var (classes, masks, q, c, h, w) = reference.Logits(input, b);
        var logits = new Mask2FormerLogits(classes, masks, q, c - 1, h, w);
        var geometry = reference.Geometry(input, b);
        var converted = MmDetectionPostProcessor.Panoptic(logits, geometry, reference.Options(filterLowScore: true)).ToPanopticResult();
        var detectron2 = Mask2FormerPostProcessor.Panoptic(logits, geometry, new PanopticOptions { ThingClasses = reference.ThingClasses });
        var d2 = image.GetProperty("d2_panoptic");
        var map = reference.Tensors.ReadInt64s(d2.GetProperty("map").GetString()!);
        var segments = d2.GetProperty("segments_info").EnumerateArray()
            .Select(s => $"{s.GetProperty("id").GetInt32()}:{s.GetProperty("category_id").GetInt32()}:{s.GetProperty("isthing").GetBoolean()}:{d2.GetProperty("areas").GetProperty(s.GetProperty("id").GetInt32().ToString()).GetInt64()}").ToArray();
        foreach (var (name, result) in new[] { ("converted mmdet", converted), ("detectron2", detectron2) })
        {
            CollectionAssert.AreEqual(map.Select(v => (int)v).ToArray(), result.SegmentIds.ToArray(), $"{name} map");
            CollectionAssert.AreEqual(segments, result.Segments.Select(s => $"{s.Id}:{s.CategoryId}:{s.IsThing}:{s.Area}").ToArray(), $"{name} segments");
        }
        CollectionAssert.AreEqual(detectron2.Segments.Select(s => s.Score).ToArray(), converted.Segments.Select(s => s.Score).ToArray(), "scores");
        CollectionAssert.AreEqual(detectron2.Segments.Select(s => s.Box).ToArray(), converted.Segments.Select(s => s.Box).ToArray(), "boxes");
    }

    [TestMethod]
    [DynamicData(nameof(Images))]
    public void InstancesAreIdenticalAsASet(string input, int b)
    {
        var reference = MmDetectionReference.Load;
        var expected = reference.Image(input, b).GetProperty("mmdet_instance");
        var (classes, masks, q, c, h, w) = reference.Logits(input, b);
        var actual = MmDetectionPostProcessor.Instances(new Mask2FormerLogits(classes, masks, q, c - 1, h, w), reference.Geometry(input, b), reference.Options(false));

        var labels = MmDetectionReference.Ints(expected.GetProperty("labels"));
        var scores = expected.GetProperty("scores").EnumerateArray().Select(s => s.GetDouble()).ToArray();
        var boxes = expected.GetProperty("bboxes").EnumerateArray().Select(box => box.EnumerateArray().Select(v => v.GetDouble()).ToArray()).ToArray();
        var areas = expected.GetProperty("mask_areas").EnumerateArray().Select(a => a.GetInt64()).ToArray();
        var packed = reference.Tensors.ReadBytes(expected.GetProperty("masks").GetString()!);
        var n = labels.Length;
        Assert.HasCount(n, actual.Instances, "instances");
        Assert.IsGreaterThan(0, n);
        var pixels = actual.Height * actual.Width;
        Assert.AreEqual((long)n * pixels, packed.Length, "the reference masks are at the output size");

        // Each reference instance is matched to one of ours with the same label, mask and box, and a score within 1e-5.
        var used = new bool[n];
        var problems = new List<string>();
        for (var i = 0; i < n; i++)
        {
            var mask = packed.AsSpan(i * pixels, pixels).ToArray();
            var match = -1;
            for (var j = 0; j < n && match < 0; j++)
            {
                var a = actual.Instances[j];
                if (used[j] || a.ClassId != labels[i] || a.Mask.Area != areas[i]) continue;
                if (a.Box.X != boxes[i][0] || a.Box.Y != boxes[i][1] || a.Box.Right != boxes[i][2] || a.Box.Bottom != boxes[i][3]) continue;
                if (!a.Mask.ToBytes().AsSpan().SequenceEqual(mask)) continue;
                if (Math.Abs(a.Score - scores[i]) > 1e-5) continue;
                match = j;
            }
            if (match < 0) problems.Add($"reference instance {i} (label {labels[i]}, score {scores[i]:G9}, box [{string.Join(", ", boxes[i])}], area {areas[i]}) has no equal");
            else used[match] = true;
        }
        Assert.IsEmpty(problems, string.Join("\n", problems));

        // bbox2result: the detector's per-class lists hold the same number of instances.
        var perClass = MmDetectionReference.Ints(reference.Image(input, b).GetProperty("mmdet_instance_per_class").GetProperty("mask_counts"));
        for (var label = 0; label < perClass.Length; label++)
            Assert.AreEqual(perClass[label], actual.Instances.Count(p => p.ClassId == label), $"instances of class {label}");
    }

    /// <summary>
    /// Beyond the set comparison: <see cref="TorchTopK"/> reproduces PyTorch's unsorted top-k, so the
    /// order mmdetection returned is reproduced as well on this reference.
    /// </summary>
    [TestMethod]
    [DynamicData(nameof(Images))]
    public void InstancesComeInTheReferenceOrder(string input, int b)
    {
        var reference = MmDetectionReference.Load;
        var expected = reference.Image(input, b).GetProperty("mmdet_instance");
        var (classes, masks, q, c, h, w) = reference.Logits(input, b);
        var actual = MmDetectionPostProcessor.Instances(new Mask2FormerLogits(classes, masks, q, c - 1, h, w), reference.Geometry(input, b), reference.Options(false));
        CollectionAssert.AreEqual(MmDetectionReference.Ints(expected.GetProperty("labels")), actual.Instances.Select(p => p.ClassId).ToArray(), "labels in order");
        CollectionAssert.AreEqual(expected.GetProperty("mask_areas").EnumerateArray().Select(a => a.GetInt64()).ToArray(), actual.Instances.Select(p => p.Mask.Area).ToArray(), "areas in order");
    }
}
