using Microsoft.ML.Mask2Former.Training.Data;

namespace Microsoft.ML.Mask2Former.Training.Distributed;

/// <summary>
/// One rank's share of the combined batches of a data-parallel run. The combined batch of a step
/// is exactly what one process with batch N·B would load: the first N·B readable positions of the
/// example stream from the shared cursor (same shuffles, same per-position augmentation seeds);
/// rank r takes those at indices r·B … r·B + B − 1. Each rank loads only its own slice, a step
/// ahead; then one all-reduce tells every rank which positions could not be read and every
/// image's segment count and size. When all were read (the usual case) that is the batch;
/// otherwise the failed positions are dropped and the slices move on, as one process fills its
/// batch from the next positions, until a round has no new failure.
/// </summary>
internal sealed class ShardedDataLoader : IBatchSource
{
    // Per position of the combined batch: failed (0/1), segment count, height, width.
    private const int Fields = 4;

    private readonly TrainingDataLoader _loader;
    private readonly MpiWorld _world;
    private readonly int _perRank;
    private readonly int _imageCount;
    private long _cursor;

    public ShardedDataLoader(CocoPanopticTrainingSet set, TrainingAugmentation augmentation, int perRank, int seed, int threads, long startCursor, MpiWorld world)
    {
        _world = world;
        _perRank = perRank;
        _imageCount = set.Count;
        _cursor = startCursor;
        _loader = new TrainingDataLoader(set, augmentation, perRank, seed, threads, startCursor + (long)world.Rank * perRank, stride: (long)world.Size * perRank);
    }

    public double LastWaitSeconds => _loader.LastWaitSeconds;

    public LoadedBatch Next()
    {
        var total = _world.Size * _perRank;
        var first = _world.Rank * _perRank;
        var prefetched = _loader.Next();
        // Only the slice's own positions count: after a failure the loader fills in from positions that belong to the next rank.
        var have = new Dictionary<long, TrainingExample>();
        for (var i = 0; i < prefetched.Positions.Count; i++)
            if (prefetched.Positions[i] < prefetched.StartCursor + _perRank) have[prefetched.Positions[i]] = prefetched.Examples[i];
        var unreadable = new HashSet<long>();
        var warnings = new List<string>();
        var failed = new HashSet<long>();
        while (true)
        {
            var slots = Slots(total, failed);
            var buffer = new double[total * Fields];
            for (var j = first; j < first + _perRank; j++)
            {
                var position = slots[j];
                if (!have.ContainsKey(position) && !unreadable.Contains(position)) TryLoad(position, have, unreadable, warnings);
                if (have.TryGetValue(position, out var example))
                {
                    buffer[j * Fields + 1] = example.Labels.Length;
                    buffer[j * Fields + 2] = example.Height;
                    buffer[j * Fields + 3] = example.Width;
                }
                else
                {
                    buffer[j * Fields] = 1;
                }
            }
            _world.SumInPlace(buffer);

            var newFailures = 0;
            for (var j = 0; j < total; j++)
            {
                if (buffer[j * Fields] == 0) continue;
                newFailures++;
                failed.Add(slots[j]);
                if (_world.IsRoot && (j < first || j >= first + _perRank))
                {
                    var info = _loader.ImageInfoAt(slots[j]);
                    warnings.Add($"skipping image {info.Id} ('{info.FileName}'): rank {j / _perRank} could not read it (see that rank's output)");
                }
            }
            if (newFailures == 0) return Finish(slots, buffer, have, warnings);
            if (failed.Count >= _imageCount)
                throw CollectiveFailure.Mark(new DataFormatException($"{failed.Count} images in a row could not be read (the data set has {_imageCount}); see each rank's warnings"));
        }
    }

    /// <summary>The positions of the combined batch: the first <paramref name="total"/> from the cursor that are not known to fail.</summary>
    private long[] Slots(int total, HashSet<long> failed)
    {
        var slots = new long[total];
        var position = _cursor;
        for (var j = 0; j < total; position++)
            if (!failed.Contains(position)) slots[j++] = position;
        return slots;
    }

    private void TryLoad(long position, Dictionary<long, TrainingExample> have, HashSet<long> unreadable, List<string> warnings)
    {
        try
        {
            have[position] = _loader.LoadAt(position);
        }
        catch (Exception e) when (TrainingDataLoader.IsUnreadable(e))
        {
            unreadable.Add(position);
            var info = _loader.ImageInfoAt(position);
            warnings.Add($"skipping image {info.Id} ('{info.FileName}'): {e.Message}");
        }
    }

    private LoadedBatch Finish(long[] slots, double[] buffer, Dictionary<long, TrainingExample> have, List<string> warnings)
    {
        var first = _world.Rank * _perRank;
        var positions = slots.AsSpan(first, _perRank).ToArray();
        var examples = positions.Select(p => have[p]).ToArray();
        var counts = new int[slots.Length];
        int height = 0, width = 0;
        for (var j = 0; j < slots.Length; j++)
        {
            counts[j] = (int)buffer[j * Fields + 1];
            height = Math.Max(height, (int)buffer[j * Fields + 2]);
            width = Math.Max(width, (int)buffer[j * Fields + 3]);
        }
        var start = _cursor;
        var end = slots[^1] + 1;
        // The loader already loads the slice after the expected end; a failure moved the end.
        if (end != _cursor + slots.Length) _loader.Restart(end + first);
        _cursor = end;
        return new LoadedBatch(examples, positions, start, end, warnings, new CombinedBatch(counts, TrainingBatch.RoundUp(height), TrainingBatch.RoundUp(width)));
    }

    public void Dispose() => _loader.Dispose();
}
