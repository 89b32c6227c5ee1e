using System.Text.Json;
using Microsoft.ML.Mask2Former.PostProcessing;

namespace Microsoft.ML.Mask2Former.Tests.PostProcessing;

/// <summary>
/// Every run of d2_postprocess (the original Mask2Former's panoptic, instance and semantic
/// inference on the reference model's outputs) is reproduced exactly: maps and masks bit for bit,
/// segment ids and categories, kept queries, top-k order, and every float32 score bit for bit:
/// class, mask and instance scores, and the soft semantic scores (the reference BLAS's
/// accumulation order is reproduced). No tolerance anywhere.
/// </summary>
[TestClass]
public sealed class Detectron2ReferenceTests
{
    public static IEnumerable<object[]> Runs => PostProcessingReference.D2Runs;

    [TestMethod]
    public void ThereAreSixtyRuns() => Assert.AreEqual(60, Runs.Count());

    [TestMethod]
    [DynamicData(nameof(Runs))]
    public void RunIsReproducedExactly(string name)
    {
        var reference = PostProcessingReference.D2;
        var run = PostProcessingReference.Find(reference.Root.GetProperty("runs"), "name", name);
        var problems = Compare(reference, run);
        Assert.IsEmpty(problems, string.Join("\n", problems));
    }

    private static List<string> Compare(PostProcessingReference reference, JsonElement run)
    {
        var problems = new List<string>();
        var root = reference.Root;
        var self = run.GetProperty("self");
        var input = root.GetProperty("inputs").GetProperty(run.GetProperty("input").GetString()!);
        var padded = PostProcessingReference.Ints(run.GetProperty("padded_size"));
        var things = PostProcessingReference.Ints(root.GetProperty("thing_ids"));
        var batched = run.GetProperty("batched_inputs").EnumerateArray().ToArray();
        var results = run.GetProperty("results").EnumerateArray().ToArray();
        for (var b = 0; b < batched.Length; b++)
        {
            var image = reference.Image(input.GetProperty("class_queries_logits").GetString()!, input.GetProperty("masks_queries_logits").GetString()!, b);
            var logits = new Mask2FormerLogits(image.Classes, image.Masks, image.Queries, image.ClassesPlusOne - 1, image.Height, image.Width);
            var size = PostProcessingReference.Ints(batched[b].GetProperty("image_size"));
            var geometry = new ImageGeometry(padded[0], padded[1], size[0], size[1], batched[b].GetProperty("height").GetInt32(), batched[b].GetProperty("width").GetInt32());
            var result = results[b];
            if (result.TryGetProperty("sem_seg", out var sem))
            {
                var options = new SemanticOptions { PostProcessBeforeInference = self.GetProperty("sem_seg_postprocess_before_inference").GetBoolean(), IncludeScores = true };
                problems.AddRange(CompareSemantic(reference, sem, Mask2FormerPostProcessor.Semantic(logits, geometry, options)).Select(p => $"image {b} sem_seg: {p}"));
                // Without the soft scores the map is computed band by band: the same map.
                options.IncludeScores = false;
                var mapOnly = Mask2FormerPostProcessor.Semantic(logits, geometry, options);
                var argmax = reference.Tensors.ReadInt32s(sem.GetProperty("argmax").GetString()!);
                var differ = Enumerable.Range(0, argmax.Length).Count(i => argmax[i] != mapOnly.ClassMap[i]);
                if (differ != 0 || !mapOnly.Scores.IsEmpty) problems.Add($"image {b} sem_seg (map only): {differ} of {argmax.Length} argmax pixels differ");
            }
            if (result.TryGetProperty("panoptic_seg", out var pan))
            {
                var options = new PanopticOptions
                {
                    ObjectMaskThreshold = self.GetProperty("object_mask_threshold").GetDouble(),
                    OverlapThreshold = self.GetProperty("overlap_threshold").GetDouble(),
                    ThingClasses = things,
                };
                problems.AddRange(ComparePanoptic(reference, pan, Mask2FormerPostProcessor.Panoptic(logits, geometry, options)).Select(p => $"image {b} panoptic: {p}"));
            }
            if (result.TryGetProperty("instances", out var ins))
            {
                var options = new InstanceOptions
                {
                    TopK = self.GetProperty("test_topk_per_image").GetInt32(),
                    ThingClassesOnly = self.GetProperty("panoptic_on").GetBoolean(),
                    ThingClasses = things,
                };
                problems.AddRange(CompareInstances(reference, ins, Mask2FormerPostProcessor.Instances(logits, geometry, options)).Select(p => $"image {b} instances: {p}"));
            }
        }
        return problems;
    }

    private static IEnumerable<string> CompareSemantic(PostProcessingReference reference, JsonElement expected, SemanticResult actual)
    {
        var shape = PostProcessingReference.Ints(expected.GetProperty("shape"));
        if (actual.NumClasses != shape[0] || actual.Height != shape[1] || actual.Width != shape[2])
        {
            yield return $"shape {actual.NumClasses}×{actual.Height}×{actual.Width}, expected {string.Join("×", shape)}";
            yield break;
        }
        var argmax = reference.Tensors.ReadInt32s(expected.GetProperty("argmax").GetString()!);
        var differ = Enumerable.Range(0, argmax.Length).Count(i => argmax[i] != actual.ClassMap[i]);
        if (differ != 0) yield return $"{differ} of {argmax.Length} argmax pixels differ";
        if (expected.TryGetProperty("soft", out var softKey))
        {
            var soft = reference.Floats(reference.Tensors, softKey.GetString()!);
            // Bit for bit: the BLAS accumulation order of the reference's einsum is reproduced (SgemmOrder).
            var softDiffer = Enumerable.Range(0, soft.Length).Count(i => !SameBits(soft[i], actual.Scores[i]));
            if (softDiffer != 0)
            {
                var max = Enumerable.Range(0, soft.Length).Max(i => Math.Abs(soft[i] - actual.Scores[i]));
                yield return $"{softDiffer} of {soft.Length} soft scores differ (by up to {max:G9})";
            }
        }
    }

    private static IEnumerable<string> ComparePanoptic(PostProcessingReference reference, JsonElement expected, PanopticResult actual)
    {
        var map = reference.Tensors.ReadInt32s(expected.GetProperty("map").GetString()!);
        var shape = PostProcessingReference.Ints(expected.GetProperty("shape"));
        if (actual.Height != shape[0] || actual.Width != shape[1]) yield return $"size {actual.Height}×{actual.Width}, expected {shape[0]}×{shape[1]}";
        else
        {
            var differ = Enumerable.Range(0, map.Length).Count(i => map[i] != actual.SegmentIds[i]);
            if (differ != 0) yield return $"{differ} of {map.Length} map pixels differ";
        }
        var kept = PostProcessingReference.Ints(expected.GetProperty("derived_kept_queries"));
        if (!kept.SequenceEqual(actual.KeptQueries)) yield return $"kept queries [{string.Join(",", actual.KeptQueries)}], expected [{string.Join(",", kept)}]";
        var segments = expected.GetProperty("segments_info").EnumerateArray().Select(s => $"{s.GetProperty("id").GetInt32()}:{s.GetProperty("category_id").GetInt32()}{(s.GetProperty("isthing").GetBoolean() ? "t" : "s")}");
        var actualSegments = actual.Segments.Select(s => $"{s.Id}:{s.CategoryId}{(s.IsThing ? "t" : "s")}");
        if (!segments.SequenceEqual(actualSegments)) yield return $"segments [{string.Join(" ", actualSegments)}], expected [{string.Join(" ", segments)}]";
        var owners = expected.GetProperty("derived_queries_per_segment").EnumerateArray().Select(s => $"{s.GetProperty("id").GetInt32()}:{string.Join(",", PostProcessingReference.Ints(s.GetProperty("queries")))}");
        var actualOwners = actual.Segments.Select(s => $"{s.Id}:{string.Join(",", s.Queries)}");
        if (!owners.SequenceEqual(actualOwners)) yield return $"queries per segment [{string.Join(" ", actualOwners)}], expected [{string.Join(" ", owners)}]";
        foreach (var s in actual.Segments)
        {
            var area = map.Count(v => v == s.Id);
            if (s.Area != area) yield return $"segment {s.Id} area {s.Area}, the map has {area}";
        }
    }

    private static bool SameBits(float a, float b) => BitConverter.SingleToInt32Bits(a) == BitConverter.SingleToInt32Bits(b);

    private static IEnumerable<string> CompareInstances(PostProcessingReference reference, JsonElement expected, InstanceResult actual)
    {
        var t = reference.Tensors;
        var n = expected.GetProperty("num_instances").GetInt32();
        var size = PostProcessingReference.Ints(expected.GetProperty("image_size"));
        if (actual.Height != size[0] || actual.Width != size[1]) yield return $"size {actual.Height}×{actual.Width}, expected {size[0]}×{size[1]}";
        if (actual.Instances.Length != n)
        {
            yield return $"{actual.Instances.Length} instances, expected {n}";
            yield break;
        }
        var flat = t.ReadInt64s(expected.GetProperty("derived_flat_index").GetString()!);
        var classes = t.ReadInt64s(expected.GetProperty("pred_classes").GetString()!);
        var scores = t.ReadSingles(expected.GetProperty("scores").GetString()!);
        var classScores = t.ReadSingles(expected.GetProperty("derived_class_score").GetString()!);
        var maskScores = t.ReadSingles(expected.GetProperty("derived_mask_score").GetString()!);
        var packed = t.ReadBytes(expected.GetProperty("pred_masks_packbits").GetString()!);
        var areas = PostProcessingReference.Ints(expected.GetProperty("mask_areas"));
        var bytesPerMask = n == 0 ? 0 : packed.Length / n;
        int order = 0, cls = 0, classScore = 0, maskScore = 0, score = 0, masks = 0, area = 0;
        for (var i = 0; i < n; i++)
        {
            var a = actual.Instances[i];
            if (a.FlatIndex != flat[i]) order++;
            if (a.ClassId != classes[i]) cls++;
            if (!SameBits(a.ClassScore, classScores[i])) classScore++;
            if (!SameBits(a.MaskScore, maskScores[i])) maskScore++;
            if (!SameBits(a.Score, scores[i])) score++;
            if (!a.Mask.Bits.AsSpan().SequenceEqual(packed.AsSpan(i * bytesPerMask, bytesPerMask))) masks++;
            if (a.Mask.Area != areas[i]) area++;
        }
        if (order != 0) yield return $"{order} of {n} flat indices differ (top-k order)";
        if (cls != 0) yield return $"{cls} classes differ";
        if (classScore != 0) yield return $"{classScore} class scores differ in their bits";
        if (maskScore != 0) yield return $"{maskScore} mask scores differ in their bits";
        if (score != 0) yield return $"{score} scores differ in their bits";
        if (masks != 0) yield return $"{masks} masks differ";
        if (area != 0) yield return $"{area} mask areas differ";
    }
}
