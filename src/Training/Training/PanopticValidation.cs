using Microsoft.ML.Mask2Former.Evaluation;
using Microsoft.ML.Mask2Former.Formats;
using Microsoft.ML.Mask2Former.PostProcessing;
using Microsoft.ML.Mask2Former.Training.Data;
using Microsoft.ML.Mask2Former.Training.Modeling;
using Microsoft.ML.Mask2Former.Training.Runtime;
using static TorchSharp.torch;

namespace Microsoft.ML.Mask2Former.Training;

/// <summary>
/// Validation panoptic quality: each image resized to fit the validation size, padded to a
/// multiple of 32, run through the network, post-processed exactly as detectron2 does at the
/// original size, and scored with <see cref="PanopticEvaluator"/> against the ground-truth PNG.
/// </summary>
internal sealed class PanopticValidation
{
    private readonly CocoPanopticTrainingSet _set;
    private readonly TrainingAugmentation _resize;
    private readonly int _maxImages;
    private readonly PanopticEvaluator _evaluator;

    public PanopticValidation(CocoPanopticTrainingSet set, TrainingAugmentation resize, int maxImages)
    {
        _set = set;
        _resize = resize;
        _maxImages = Math.Min(maxImages, set.Count);
        _evaluator = new PanopticEvaluator(set.Dataset.Categories);
    }

    public PanopticSegmentationMetrics Evaluate(Mask2FormerForUniversalSegmentation network, PanopticOptions? options = null)
    {
        var wasTraining = network.training;
        network.eval();
        var things = Enumerable.Range(0, _set.Labels.Count).Where(k => _set.IsThing[k]).ToArray();
        options ??= new PanopticOptions();
        var postOptions = new PanopticOptions { ObjectMaskThreshold = options.ObjectMaskThreshold, OverlapThreshold = options.OverlapThreshold, ThingClasses = things };
        var accumulator = new PanopticQualityAccumulator();
        try
        {
            for (var i = 0; i < _maxImages; i++)
            {
                var image = _set.Load(i);
                var example = _resize.ResizeForValidation(image);
                var (stats, _) = EvaluateOne(network, i, image, example, postOptions);
                accumulator.Add(stats);
            }
        }
        finally
        {
            if (wasTraining) network.train();
        }
        return accumulator.ComputeMetrics(_set.Dataset.Categories);
    }

    internal (PanopticImageStatistics Stats, PanopticResult Result) EvaluateOne(Mask2FormerForUniversalSegmentation network, int index, PanopticTrainingImage image,
        TrainingExample example, PanopticOptions postOptions)
    {
        float[] classLogits, maskLogits;
        int queries, classes, mh, mw, ph, pw;
        using (NoCollectionRegion.Enter())
        using (var scope = NewDisposeScope())
        using (no_grad())
        {
            using var batch = TrainingBatch.Create([example]);
            ph = (int)batch.PixelValues.shape[2];
            pw = (int)batch.PixelValues.shape[3];
            using var output = network.forward(batch.PixelValues);
            var c = output.ClassQueriesLogits[0].contiguous();
            var m = output.MasksQueriesLogits[0].contiguous();
            queries = (int)c.shape[0];
            classes = (int)c.shape[1] - 1;
            mh = (int)m.shape[1];
            mw = (int)m.shape[2];
            classLogits = c.data<float>().ToArray();
            maskLogits = m.data<float>().ToArray();
        }
        var geometry = new ImageGeometry(ph, pw, example.Height, example.Width, image.Height, image.Width);
        var result = Mask2FormerPostProcessor.Panoptic(new Mask2FormerLogits(classLogits, maskLogits, queries, classes, mh, mw), geometry, postOptions);

        var predMap = new uint[result.SegmentIds.Length];
        var predSegments = new List<CocoPanopticSegment>();
        var dropped = new HashSet<int>();
        foreach (var s in result.Segments)
        {
            var category = _set.CategoryIds[s.CategoryId];
            if (category < 0) dropped.Add(s.Id);
            else predSegments.Add(new CocoPanopticSegment((uint)s.Id, category));
        }
        for (var p = 0; p < predMap.Length; p++)
        {
            var id = result.SegmentIds[p];
            predMap[p] = id > 0 && !dropped.Contains(id) ? (uint)id : 0u;
        }
        var stats = _evaluator.EvaluateImage(image.ImageId, image.SegmentIds, _set.Annotation(index).Segments, predMap, predSegments);
        return (stats, result);
    }
}
