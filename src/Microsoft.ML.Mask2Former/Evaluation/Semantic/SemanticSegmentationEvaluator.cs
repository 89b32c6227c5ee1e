using System.Runtime.ExceptionServices;

namespace Microsoft.ML.Mask2Former.Evaluation;

/// <summary>
/// Evaluates folders of label PNGs (grayscale or palette; one ground-truth and one predicted
/// map per image, paired by file name) as detectron2's <c>SemSegEvaluator</c> does.
/// </summary>
/// <remarks>
/// Images run in parallel, each streamed row by row (a thread holds two rows, never an image);
/// the counts are integers, so the result does not depend on the thread count or the order in
/// which images finish. When several images are bad, the error reported is the one of the first
/// bad ground-truth file in file-name order, whatever the thread count.
/// </remarks>
public static class SemanticSegmentationEvaluator
{
    /// <summary>Evaluates every <c>*.png</c> of <paramref name="gtFolder"/> against the file of the same name in <paramref name="predFolder"/>.</summary>
    /// <param name="gtFolder">Ground-truth label maps (labels 0..K−1 and the ignore label).</param>
    /// <param name="predFolder">Predicted label maps (labels 0..K−1); files without a ground truth are not read.</param>
    /// <param name="numClasses">K, the number of classes.</param>
    /// <param name="ignoreLabel">The ground-truth label left out of every metric (detectron2's default 255).</param>
    /// <param name="threads">Images evaluated in parallel; 0 means <see cref="Environment.ProcessorCount"/>.</param>
    /// <param name="classNames">K class names for the per-class results; default "0" … "K−1".</param>
    /// <returns>The metrics of all images.</returns>
    /// <exception cref="DirectoryNotFoundException">A folder does not exist.</exception>
    /// <exception cref="DataFormatException">The ground-truth folder holds no PNG, a prediction is missing, sizes differ, a file is not a label PNG, or a label is out of range.</exception>
    public static SemanticSegmentationMetrics EvaluateFolders(string gtFolder, string predFolder, int numClasses, int ignoreLabel = 255,
        int threads = 0, IReadOnlyList<string>? classNames = null) =>
        AccumulateFolders(gtFolder, predFolder, numClasses, ignoreLabel, threads).ComputeMetrics(classNames);

    /// <summary>
    /// The confusion counts behind <see cref="EvaluateFolders"/>, for merging with other shards
    /// (<see cref="SemanticSegmentationAccumulator.Merge"/>) before computing the metrics.
    /// </summary>
    /// <param name="gtFolder">Ground-truth label maps (labels 0..K−1 and the ignore label).</param>
    /// <param name="predFolder">Predicted label maps (labels 0..K−1); files without a ground truth are not read.</param>
    /// <param name="numClasses">K, the number of classes.</param>
    /// <param name="ignoreLabel">The ground-truth label left out of every metric (detectron2's default 255).</param>
    /// <param name="threads">Images evaluated in parallel; 0 means <see cref="Environment.ProcessorCount"/>.</param>
    /// <returns>The summed confusion counts of all images.</returns>
    /// <exception cref="DirectoryNotFoundException">A folder does not exist.</exception>
    /// <exception cref="DataFormatException">The ground-truth folder holds no PNG, a prediction is missing, sizes differ, a file is not a label PNG, or a label is out of range.</exception>
    public static SemanticSegmentationAccumulator AccumulateFolders(string gtFolder, string predFolder, int numClasses, int ignoreLabel = 255,
        int threads = 0)
    {
        ArgumentException.ThrowIfNullOrEmpty(gtFolder);
        ArgumentException.ThrowIfNullOrEmpty(predFolder);
        ArgumentOutOfRangeException.ThrowIfNegative(threads);
        var total = new SemanticSegmentationAccumulator(numClasses, ignoreLabel);
        if (!Directory.Exists(gtFolder)) throw new DirectoryNotFoundException($"ground-truth label folder not found: '{gtFolder}'");
        if (!Directory.Exists(predFolder)) throw new DirectoryNotFoundException($"prediction label folder not found: '{predFolder}'");
        var names = Directory.EnumerateFiles(gtFolder, "*.png").Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray();
        if (names.Length == 0) throw new DataFormatException("the ground-truth folder holds no .png label maps", gtFolder);

        var errors = new Exception?[names.Length];
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = threads == 0 ? Environment.ProcessorCount : threads };
        var gate = new object();
        Parallel.For(0, names.Length, parallel,
            () => new Worker(numClasses, ignoreLabel),
            (i, state, worker) =>
            {
                try
                {
                    worker.Add(Path.Combine(predFolder, names[i]!), Path.Combine(gtFolder, names[i]!));
                }
                catch (Exception e) when (e is DataFormatException or IOException or UnauthorizedAccessException)
                {
                    // Break (not Stop) still runs every image before this one, so the first bad
                    // image in name order is always found, whichever thread meets which first.
                    errors[i] = e;
                    state.Break();
                }
                return worker;
            },
            worker =>
            {
                lock (gate) total.Merge(worker.Accumulator);
            });
        foreach (var e in errors)
        {
            if (e is not null) ExceptionDispatchInfo.Capture(e).Throw();
        }
        return total;
    }

    private sealed class Worker(int numClasses, int ignoreLabel)
    {
        private int[] _predRow = [];
        private int[] _gtRow = [];

        public SemanticSegmentationAccumulator Accumulator { get; } = new(numClasses, ignoreLabel);

        public void Add(string predPath, string gtPath) => Accumulator.AddFiles(predPath, gtPath, ref _predRow, ref _gtRow);
    }
}
