using System.Text.Json;
using Microsoft.ML.Mask2Former.PostProcessing;

namespace Microsoft.ML.Mask2Former.Tests.PostProcessing;

/// <summary>
/// Every case of small_postprocess (Hugging Face <c>post_process_*_segmentation</c> on the
/// reference model's outputs) is reproduced exactly: maps pixel for pixel, map dtype (−1 float
/// maps), and segments_info (ids, labels, fusion, scores rounded to 6 decimals). No tolerance:
/// even the near-tie pixel of B image 0 at threshold 0.3 / overlap 0.3, whose winner depends on
/// how the bilinear weights are rounded, comes out as in the reference.
/// </summary>
[TestClass]
public sealed class HuggingFaceReferenceTests
{
    public static IEnumerable<object[]> Cases => PostProcessingReference.HfCases;

    [TestMethod]
    public void ThereAreFortyFourCases() => Assert.AreEqual(44, Cases.Count());

    [TestMethod]
    [DynamicData(nameof(Cases))]
    public void CaseIsReproducedExactly(string name)
    {
        var reference = PostProcessingReference.HuggingFace;
        var testCase = PostProcessingReference.Find(reference.Root.GetProperty("cases"), "case", name);
        var input = name[..1];
        var function = testCase.GetProperty("function").GetString()!;
        var kwargs = testCase.GetProperty("kwargs");
        var results = testCase.GetProperty("results").EnumerateArray().ToArray();
        var problems = new List<string>();
        for (var b = 0; b < results.Length; b++)
        {
            var image = reference.Image($"{input}.class_queries_logits", $"{input}.masks_queries_logits", b);
            var logits = new Mask2FormerLogits(image.Classes, image.Masks, image.Queries, image.ClassesPlusOne - 1, image.Height, image.Width);
            var options = new HuggingFaceOptions();
            if (kwargs.TryGetProperty("threshold", out var t)) options.Threshold = t.GetDouble();
            if (kwargs.TryGetProperty("mask_threshold", out var m)) options.MaskThreshold = m.GetDouble();
            if (kwargs.TryGetProperty("overlap_mask_area_threshold", out var o)) options.OverlapMaskAreaThreshold = o.GetDouble();
            if (kwargs.TryGetProperty("label_ids_to_fuse", out var f) && f.ValueKind == JsonValueKind.Array) options.LabelIdsToFuse = PostProcessingReference.Ints(f);
            if (kwargs.GetProperty("target_sizes").ValueKind == JsonValueKind.Array)
            {
                var size = PostProcessingReference.Ints(kwargs.GetProperty("target_sizes")[b]);
                options.TargetSize = (size[0], size[1]);
            }
            var expected = results[b];
            var shape = PostProcessingReference.Ints(expected.GetProperty("shape"));
            var map = reference.Tensors.ReadInt16s(expected.GetProperty("segmentation").GetString()!);
            int[] actualMap;
            int height, width;
            if (function == "post_process_semantic_segmentation")
            {
                var semantic = HuggingFacePostProcessor.Semantic(logits, options);
                (actualMap, height, width) = (semantic.ClassMap.ToArray(), semantic.Height, semantic.Width);
            }
            else
            {
                var segmentation = function == "post_process_panoptic_segmentation"
                    ? HuggingFacePostProcessor.Panoptic(logits, options)
                    : HuggingFacePostProcessor.Instances(logits, options);
                (actualMap, height, width) = (segmentation.Map.ToArray(), segmentation.Height, segmentation.Width);
                var dtype = expected.GetProperty("hf_dtype").GetString();
                if (segmentation.IsFloatMap != (dtype == "float32")) problems.Add($"image {b}: float map {segmentation.IsFloatMap}, HF dtype {dtype}");
                var segments = expected.GetProperty("segments_info").EnumerateArray()
                    .Select(s => $"{s.GetProperty("id").GetInt32()}:{s.GetProperty("label_id").GetInt32()}:{s.GetProperty("was_fused").GetBoolean()}:{s.GetProperty("score").GetDouble():R}").ToArray();
                var actual = segmentation.Segments.Select(s => $"{s.Id}:{s.LabelId}:{s.WasFused}:{s.RoundedScore:R}").ToArray();
                if (!segments.SequenceEqual(actual)) problems.Add($"image {b}: segments [{string.Join(" ", actual)}], expected [{string.Join(" ", segments)}]");
            }
            if (height != shape[0] || width != shape[1]) problems.Add($"image {b}: size {height}×{width}, expected {shape[0]}×{shape[1]}");
            else
            {
                var differ = Enumerable.Range(0, map.Length).Count(i => map[i] != actualMap[i]);
                if (differ != 0) problems.Add($"image {b}: {differ} of {map.Length} map pixels differ");
            }
            var unique = PostProcessingReference.Ints(expected.GetProperty("unique_values"));
            var actualUnique = actualMap.Distinct().Order().ToArray();
            if (!unique.SequenceEqual(actualUnique)) problems.Add($"image {b}: values [{string.Join(",", actualUnique)}], expected [{string.Join(",", unique)}]");
        }
        Assert.IsEmpty(problems, string.Join("\n", problems));
    }
}
