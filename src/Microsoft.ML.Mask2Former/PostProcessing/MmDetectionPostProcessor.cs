using System.Collections.Immutable;

namespace Microsoft.ML.Mask2Former.PostProcessing;

/// <summary>
/// mmdetection compatibility mode: reproduces mmdetection 2.25's <c>MaskFormerFusionHead</c>
/// (<c>panoptic_postprocess</c> and <c>instance_postprocess</c> after its <c>simple_test</c> resize,
/// PyTorch 1.13 CPU, float32), the post-processing behind the published numbers of the
/// mmdetection Mask2Former checkpoints (Mask2Former + ViT-Adapter among them). Mask logits are
/// resized bilinearly (align_corners=False) to the padded input, cropped to the image and resized
/// to the output size, exactly as <see cref="Mask2FormerPostProcessor"/> does.
/// </summary>
/// <remarks>
/// Where it differs from detectron2 (<see cref="Mask2FormerPostProcessor"/>, this project's
/// default): the panoptic map holds <c>class</c> for stuff, <c>class + instance_id × 1000</c> for
/// things and the number of classes for void; a kept query whose area passes the
/// <see cref="MmDetectionOptions.IouThreshold"/> test is accepted even when none of its pixels has
/// mask probability ≥ 0.5 (a thing still spends its instance id); without
/// <see cref="MmDetectionOptions.FilterLowScore"/> a segment keeps every pixel it wins; instances
/// are always things only, with <c>mask2bbox</c> boxes. NaN and infinite logits follow the same
/// PyTorch float rules as <see cref="Mask2FormerPostProcessor"/>.
/// </remarks>
public static class MmDetectionPostProcessor
{
    /// <summary>mmdetection's <c>INSTANCE_OFFSET</c>: a thing's map value is <c>class + instance_id × 1000</c>.</summary>
    public const int InstanceOffset = 1000;

    /// <summary><c>panoptic_postprocess</c> of one image at the output size of <paramref name="geometry"/>.</summary>
    /// <param name="logits">The model outputs for the image.</param>
    /// <param name="geometry">Padded input (<c>batch_input_shape</c>), image (<c>img_shape</c>) and output (<c>ori_shape</c>) sizes.</param>
    /// <param name="options">Thresholds, <c>filter_low_score</c> and thing classes; defaults when <see langword="null"/>.</param>
    /// <returns>mmdetection's map and its segments, convertible with <see cref="MmDetectionPanopticResult.ToPanopticResult"/>.</returns>
    public static MmDetectionPanopticResult Panoptic(in Mask2FormerLogits logits, ImageGeometry geometry, MmDetectionOptions? options = null)
    {
        options ??= new MmDetectionOptions();
        var things = Mask2FormerPostProcessor.ThingSet(options.ThingClasses, logits.NumClasses, nameof(options.ThingClasses));
        var votes = PanopticArgMax.Compute(logits, geometry, options.ObjectMaskThreshold);
        var voidLabel = logits.NumClasses;

        // Segment i + 1 per kept query (0: rejected), in mmdetection's loop order.
        var segmentOf = new int[votes.Kept.Length];
        var stuffSegment = new Dictionary<int, int>();
        var created = new List<(int Category, int InstanceId, bool IsThing, float Score, List<int> Queries)>();
        var instanceId = 1;
        for (var k = 0; k < votes.Kept.Length; k++)
        {
            var label = votes.Labels[k];
            if (!(votes.MaskArea[k] > 0 && votes.OriginalArea[k] > 0)) continue;
            // Python divides the two integer counts as doubles.
            if ((double)votes.MaskArea[k] / votes.OriginalArea[k] < options.IouThreshold) continue;
            if (!things.Contains(label))
            {
                // Stuff of one class shares the value `class`: one segment.
                if (stuffSegment.TryGetValue(label, out var existing))
                {
                    segmentOf[k] = existing;
                    created[existing - 1].Queries.Add(votes.Kept[k]);
                    continue;
                }
                created.Add((label, 0, false, votes.Scores[k], new List<int> { votes.Kept[k] }));
                stuffSegment[label] = created.Count;
            }
            else created.Add((label, instanceId++, true, votes.Scores[k], new List<int> { votes.Kept[k] }));
            segmentOf[k] = created.Count;
        }

        var values = new int[created.Count + 1];
        values[0] = voidLabel;
        for (var i = 0; i < created.Count; i++) values[i + 1] = created[i].Category + created[i].InstanceId * InstanceOffset;
        var pixels = votes.Height * votes.Width;
        var segmentIndex = new int[pixels];
        var map = new int[pixels];
        if (created.Count == 0) map.AsSpan().Fill(voidLabel);
        else
        {
            var filter = options.FilterLowScore;
            for (var p = 0; p < pixels; p++)
            {
                var s = segmentOf[votes.Owner[p]];
                // filter_low_score keeps a pixel only when its winner's probability is at least 0.5 (NaN is not).
                if (s != 0 && filter && !(votes.OwnerSigmoid[p] >= 0.5f)) s = 0;
                segmentIndex[p] = s;
                map[p] = values[s];
            }
        }
        var (areas, boxes) = PixelMath.Regions(segmentIndex, votes.Height, votes.Width, created.Count);
        var segments = ImmutableArray.CreateBuilder<MmDetectionPanopticSegment>(created.Count);
        for (var i = 0; i < created.Count; i++)
        {
            var (category, id, isThing, score, queries) = created[i];
            segments.Add(new MmDetectionPanopticSegment(values[i + 1], category, id, isThing, score, areas[i + 1], boxes[i + 1], [.. queries]));
        }
        return new MmDetectionPanopticResult(votes.Height, votes.Width, voidLabel, PixelMath.Own(map), segmentIndex,
            segments.MoveToImmutable(), [.. votes.Kept]);
    }

    /// <summary>
    /// <c>instance_postprocess</c> of one image: the top <see cref="MmDetectionOptions.MaxPerImage"/>
    /// (query, class) pairs by class probability, things only, each with its mask (logit &gt; 0 at the
    /// output size), score (class probability × mean mask probability inside the mask) and
    /// <c>mask2bbox</c> box (<see cref="InstancePrediction.Box"/>: x1 = X, y1 = Y, x2 = Right, y2 = Bottom).
    /// </summary>
    /// <param name="logits">The model outputs for the image.</param>
    /// <param name="geometry">Padded input, image and output sizes.</param>
    /// <param name="options"><c>max_per_image</c> and thing classes; defaults when <see langword="null"/>.</param>
    /// <returns>The instances in mmdetection's order (PyTorch's unsorted top-k order, stuff pairs removed).</returns>
    public static InstanceResult Instances(in Mask2FormerLogits logits, ImageGeometry geometry, MmDetectionOptions? options = null)
    {
        options ??= new MmDetectionOptions();
        if (options.MaxPerImage < 0) throw new ArgumentException($"MaxPerImage must not be negative; found {options.MaxPerImage}.", nameof(options));
        // detectron2's instance_inference with panoptic inference on is the same computation.
        return Mask2FormerPostProcessor.Instances(logits, geometry,
            new InstanceOptions { TopK = options.MaxPerImage, ThingClassesOnly = true, ThingClasses = options.ThingClasses });
    }
}
