using System.Security.Cryptography;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Mask2Former;
using Microsoft.ML.Mask2Former.Data;
using Microsoft.ML.Mask2Former.Evaluation;
using Microsoft.ML.Mask2Former.Scoring;
using Microsoft.ML.Mask2Former.Synthetic;

/// <summary>What both applications do with Microsoft.ML.Mask2Former.</summary>
internal static class Scoring
{
    /// <summary>Synthetic COCO panoptic data: train/ and val/, and labels.json for m2f segment (thresholds 0, as <see cref="Evaluate"/> uses).</summary>
    public static void Synthesize(string folder)
    {
        SyntheticPanopticDataset.Generate(Path.Combine(folder, "train"), new SyntheticPanopticOptions { ImageCount = 8, Width = 64, Height = 64, Seed = 1, ColourByCategory = true });
        SyntheticPanopticDataset.Generate(Path.Combine(folder, "val"), new SyntheticPanopticOptions { ImageCount = 4, Width = 64, Height = 64, Seed = 2, ColourByCategory = true });
        var labels = string.Join(", ", SyntheticPanopticDataset.Categories.Select(c => $"{{\"id\": {c.Id}, \"name\": \"{c.Name}\", \"isthing\": {(c.IsThing ? 1 : 0)}}}"));
        File.WriteAllText(Path.Combine(folder, "labels.json"), $"{{\"labels\": [{labels}], \"object_mask_threshold\": 0.0, \"overlap_threshold\": 0.0}}");
    }

    /// <summary>
    /// LoadFromCocoPanoptic → LoadImages → SegmentPanoptic → Evaluate on COCO panoptic data (JSON, PNG
    /// folder, image folder); prints the panopticapi table, "PQ=…" and a hash of every predicted map.
    /// </summary>
    public static int Evaluate(string json, string pngFolder, string imageFolder, string model, int? gpu, bool fallback)
    {
        var ml = new MLContext(seed: 0);
        var data = ml.Data.LoadFromCocoPanoptic(json, pngFolder, imageFolder);
        Mask2FormerSegmentationEstimator segment;
        try
        {
            segment = ml.Transforms.SegmentPanoptic(new SegmentPanopticOptions
            {
                ModelPath = model, ObjectMaskThreshold = 0, OverlapThreshold = 0,
                GpuDeviceId = gpu, FallbackToCpu = fallback,
            });
        }
        catch (NotSupportedException e)
        {
            Console.WriteLine($"refused: {e.Message}");
            return 3;
        }
        if (segment.GpuFallbackReason is { } reason) Console.WriteLine($"warning: {reason}");
        // One column contract: ground truth, images, predictions and metrics with no column names.
        var scored = ml.Transforms.LoadImages(PanopticColumnNames.Image, null, PanopticColumnNames.ImagePath)
            .Append(segment)
            .Fit(data).Transform(data);
        var metrics = ml.PanopticSegmentation().Evaluate(scored, data.Categories);
        Console.WriteLine(metrics);
        Console.WriteLine($"PQ={metrics.PanopticQuality:R} SQ={metrics.SegmentationQuality:R} RQ={metrics.RecognitionQuality:R}");
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var column = scored.Schema[PanopticColumnNames.PredictedSegmentMap];
        using (var cursor = scored.GetRowCursor([column]))
        {
            var getter = cursor.GetGetter<VBuffer<uint>>(column);
            var map = default(VBuffer<uint>);
            while (cursor.MoveNext())
            {
                getter(ref map);
                foreach (var v in map.DenseValues()) hash.AppendData(BitConverter.GetBytes(v));
            }
        }
        Console.WriteLine($"maps={Convert.ToHexString(hash.GetHashAndReset())}");
        return 0;
    }
}
