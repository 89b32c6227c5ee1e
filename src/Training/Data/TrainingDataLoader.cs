namespace Microsoft.ML.Mask2Former.Training.Data;

/// <summary>
/// One loaded batch: its examples and their stream positions, where the stream continues after it,
/// the images skipped to fill it, and the combined batch it belongs to (itself in one process).
/// </summary>
internal sealed record LoadedBatch(IReadOnlyList<TrainingExample> Examples, IReadOnlyList<long> Positions, long StartCursor, long EndCursor,
    IReadOnlyList<string> Warnings, CombinedBatch Combined);

/// <summary>
/// An endless, seeded stream of augmented examples, loaded in parallel one batch ahead of the
/// training loop. Position p of the stream is image <c>perm_e[p mod N]</c> of epoch e = p / N, where
/// <c>perm_e</c> is a shuffle seeded by (seed, e), augmented with random numbers seeded by (seed, p):
/// nothing depends on thread timing, and the stream resumes exactly from a saved cursor.
/// An image that cannot be read is skipped with a warning naming it (carried by the batch it
/// would have been in), and the batch is filled from the next positions.
/// </summary>
internal sealed class TrainingDataLoader : IBatchSource
{
    private readonly CocoPanopticTrainingSet _set;
    private readonly TrainingAugmentation _augmentation;
    private readonly int _batchSize;
    private readonly int _seed;
    private readonly bool _shuffle;
    private readonly ParallelOptions _parallel;
    private readonly long _stride;
    private readonly Lock _permutationLock = new();
    private long _permutationEpoch = -1;
    private int[] _permutation = [];
    private Task<LoadedBatch> _pending;

    /// <param name="set">The images.</param>
    /// <param name="augmentation">Applied to every image with the random numbers of its stream position.</param>
    /// <param name="batchSize">Examples per batch.</param>
    /// <param name="seed">Seeds the shuffles and the augmentation.</param>
    /// <param name="threads">Images loaded in parallel.</param>
    /// <param name="startCursor">The stream position of the first batch.</param>
    /// <param name="shuffle">Whether epochs are shuffled.</param>
    /// <param name="stride">When positive, each batch starts <paramref name="stride"/> positions after the previous one's start
    /// (one rank's slices of a combined stream) instead of where the previous one ended.</param>
    public TrainingDataLoader(CocoPanopticTrainingSet set, TrainingAugmentation augmentation, int batchSize, int seed, int threads,
        long startCursor, bool shuffle = true, long stride = 0)
    {
        _set = set;
        _augmentation = augmentation;
        _batchSize = batchSize;
        _seed = seed;
        _shuffle = shuffle;
        _parallel = new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, threads) };
        _stride = stride;
        _pending = Task.Run(() => LoadFrom(startCursor));
    }

    /// <summary>Seconds the last <see cref="Next"/> waited for data (the loader's share of a step).</summary>
    public double LastWaitSeconds { get; private set; }

    /// <summary>Returns the next batch and starts loading the one after it.</summary>
    public LoadedBatch Next()
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var batch = _pending.GetAwaiter().GetResult();
        LastWaitSeconds = watch.Elapsed.TotalSeconds;
        var next = _stride > 0 ? batch.StartCursor + _stride : batch.EndCursor;
        _pending = Task.Run(() => LoadFrom(next));
        return batch;
    }

    /// <summary>Drops the batch being loaded and starts loading the one at <paramref name="cursor"/>.</summary>
    public void Restart(long cursor)
    {
        try { _pending.Wait(); }
        catch (AggregateException) { }
        _pending = Task.Run(() => LoadFrom(cursor));
    }

    /// <summary>The example at stream position <paramref name="position"/> (throws when its image cannot be read).</summary>
    internal TrainingExample LoadAt(long position) => _augmentation.Apply(_set.Load(ImageAt(position)), new Random(StreamSeed(_seed, position)));

    /// <summary>The image at stream position <paramref name="position"/>.</summary>
    internal CocoImage ImageInfoAt(long position) => _set.Images[ImageAt(position)];

    /// <summary>Whether <paramref name="e"/> is an unreadable image (skipped with a warning) rather than a bug.</summary>
    internal static bool IsUnreadable(Exception e) => e is DataFormatException or IOException or InvalidDataException;

    /// <summary>Loads the batch starting at <paramref name="cursor"/> (sequential in the stream, parallel inside the batch).</summary>
    internal LoadedBatch LoadFrom(long cursor)
    {
        var examples = new List<TrainingExample>(_batchSize);
        var positions = new List<long>(_batchSize);
        var warnings = new List<string>();
        var startCursor = cursor;
        var failures = 0;
        while (examples.Count < _batchSize)
        {
            var need = _batchSize - examples.Count;
            var images = new int[need];
            for (var i = 0; i < need; i++) images[i] = ImageAt(cursor + i);
            var results = new TrainingExample?[need];
            var errors = new Exception?[need];
            var start = cursor;
            Parallel.For(0, need, _parallel, i =>
            {
                try
                {
                    var image = _set.Load(images[i]);
                    results[i] = _augmentation.Apply(image, new Random(StreamSeed(_seed, start + i)));
                }
                catch (Exception e) when (IsUnreadable(e))
                {
                    errors[i] = e;
                }
            });
            for (var i = 0; i < need; i++)
            {
                if (results[i] is { } example)
                {
                    examples.Add(example);
                    positions.Add(cursor + i);
                    failures = 0;
                    continue;
                }
                var info = _set.Images[images[i]];
                warnings.Add($"skipping image {info.Id} ('{info.FileName}'): {errors[i]!.Message}");
                if (++failures >= _set.Count)
                    throw new DataFormatException($"none of the {_set.Count} images could be read (last: '{info.FileName}': {errors[i]!.Message})", _set.Dataset.Source);
            }
            cursor += need;
        }
        return new LoadedBatch(examples, positions, startCursor, cursor, warnings, CombinedBatch.Of(examples));
    }

    private int ImageAt(long position)
    {
        var n = _set.Count;
        if (!_shuffle) return (int)(position % n);
        var epoch = position / n;
        lock (_permutationLock)
        {
            if (epoch != _permutationEpoch)
            {
                var permutation = Enumerable.Range(0, n).ToArray();
                new Random(StreamSeed(_seed ^ 0x5bd1e995, epoch)).Shuffle(permutation);
                _permutation = permutation;
                _permutationEpoch = epoch;
            }
            return _permutation[(int)(position % n)];
        }
    }

    /// <summary>A 32-bit seed from (seed, position) by SplitMix64 finalisation.</summary>
    internal static int StreamSeed(int seed, long position)
    {
        unchecked
        {
            var z = (ulong)seed * 0x9E3779B97F4A7C15UL + (ulong)position + 0x632BE59BD9B4E019UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            z ^= z >> 31;
            return (int)(z & 0x7FFFFFFF);
        }
    }

    public void Dispose()
    {
        try { _pending.Wait(); }
        catch (AggregateException) { }
    }
}
