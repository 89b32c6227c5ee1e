using Microsoft.ML.Mask2Former.Formats;
using Microsoft.ML.Mask2Former.PostProcessing;
using Microsoft.ML.Mask2Former.Scoring;

namespace Mask2Former.Cli.Commands;

/// <summary>Post-processed results in COCO's formats, with the label set's category ids.</summary>
internal static class CocoPredictions
{
    /// <summary>The segment-id map of a panoptic result (0 = void) and its segments as COCO panoptic <c>segments_info</c>.</summary>
    public static (uint[] Map, List<CocoPanopticSegment> Segments) Panoptic(PanopticResult result, IReadOnlyList<Mask2FormerLabel> labels)
    {
        var map = new uint[result.SegmentIds.Length];
        for (var i = 0; i < map.Length; i++) map[i] = (uint)result.SegmentIds[i];
        var segments = result.Segments.Select(s => new CocoPanopticSegment((uint)s.Id, labels[s.CategoryId].Id, false, s.Area,
            [s.Box.X, s.Box.Y, s.Box.Width, s.Box.Height])).ToList();
        return (map, segments);
    }

    /// <summary>
    /// Instances as COCO results, as mmdetection writes them: for box AP the boxes alone, for mask AP
    /// the masks (compressed RLE) with their boxes.
    /// </summary>
    public static (IEnumerable<CocoDetection> Boxes, IEnumerable<CocoDetection> Masks) Instances(InstanceResult result, string imageId, IReadOnlyList<Mask2FormerLabel> labels)
    {
        var boxes = new List<CocoDetection>(result.Instances.Length);
        var masks = new List<CocoDetection>(result.Instances.Length);
        foreach (var p in result.Instances)
        {
            double[] box = [p.Box.X, p.Box.Y, p.Box.Width, p.Box.Height];
            var category = labels[p.ClassId].Id;
            boxes.Add(new CocoDetection(imageId, category, p.Score, box));
            var rle = CocoRle.EncodeRowMajor(p.Mask.ToBytes(), result.Height, result.Width);
            masks.Add(new CocoDetection(imageId, category, p.Score, box, CocoSegmentation.FromRle(rle)));
        }
        return (boxes, masks);
    }
}
