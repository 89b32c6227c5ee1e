using Microsoft.ML.Mask2Former.Evaluation;
using Microsoft.ML.Mask2Former.PostProcessing;
using Microsoft.ML.Mask2Former.Scoring;
using Microsoft.ML.Mask2Former.Training.Data;
using Microsoft.ML.Mask2Former.Training.Modeling;
using Microsoft.ML.Mask2Former.Training.Runtime;

namespace Microsoft.ML.Mask2Former.Training;

/// <summary>
/// Validation panoptic quality, computed as the exported model scores in an ML.NET pipeline: each
/// image letterboxed into size × size by the scoring pipeline's own resize
/// (<see cref="ImagePreprocessor.Letterbox"/>), run through the network, post-processed exactly as
/// detectron2 does at the original size, and scored with <see cref="PanopticEvaluator"/> against
/// the ground-truth PNG. So the PQ printed during training is the PQ of
/// <c>LoadImages → SegmentPanoptic</c> on the model exported at that size.
/// </summary>
internal sealed class PanopticValidation
{
    private readonly CocoPanopticTrainingSet _set;
    private readonly int _size;
    private readonly double[] _mean;
    private readonly double[] _std;
    private readonly int _maxImages;
    private readonly PanopticEvaluator _evaluator;

    /// <param name="set">The validation images.</param>
    /// <param name="size">The square input every image is letterboxed into.</param>
    /// <param name="pixelMean">Per-channel mean on the 0–255 scale (the trainer's).</param>
    /// <param name="pixelStd">Per-channel standard deviation on the 0–255 scale.</param>
    /// <param name="maxImages">At most this many images (the first ones).</param>
    public PanopticValidation(CocoPanopticTrainingSet set, int size, IReadOnlyList<double> pixelMean, IReadOnlyList<double> pixelStd, int maxImages)
    {
        _set = set;
        _size = size;
        _mean = pixelMean.Select(v => v / 255.0).ToArray();
        _std = pixelStd.Select(v => v / 255.0).ToArray();
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
                var (stats, _) = EvaluateOne(network, i, image, postOptions);
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
        PanopticOptions postOptions)
    {
        var input = new float[3 * _size * _size];
        var geometry = ImagePreprocessor.Letterbox(image.Rgb, image.Height, image.Width, _size, _size, _mean, _std, input);
        float[] classLogits, maskLogits;
        int queries, classes, mh, mw;
        using (NoCollectionRegion.Enter())
        using (var scope = NewDisposeScope())
        using (no_grad())
        {
            using var pixels = tensor(input, [1, 3, _size, _size], ScalarType.Float32);
            using var output = network.forward(pixels);
            var c = output.ClassQueriesLogits[0].contiguous();
            var m = output.MasksQueriesLogits[0].contiguous();
            queries = (int)c.shape[0];
            classes = (int)c.shape[1] - 1;
            mh = (int)m.shape[1];
            mw = (int)m.shape[2];
            classLogits = c.data<float>().ToArray();
            maskLogits = m.data<float>().ToArray();
        }
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
