using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Microsoft.ML.Mask2Former.Evaluation;

/// <summary>
/// Matches the segments of one ground-truth / prediction pair the way panopticapi's
/// <c>pq_compute_single_core</c> does, fed row by row so an image is never held whole.
/// </summary>
/// <remarks>
/// The pixel pass only fills an intersection table indexed by (ground-truth segment, predicted
/// segment), with index 0 for void on both sides; every PQ rule is then applied on that table.
/// Ids are looked up only where they change along a row and uniform stretches are counted eight
/// pixels at a time, so the pass costs far less than decoding the PNGs. One instance is reused
/// per thread; it is not thread-safe.
/// </remarks>
internal sealed class PanopticImageMatcher
{
    private readonly Dictionary<uint, int> _gtIndex = new();
    private readonly Dictionary<uint, int> _predIndex = new();
    private readonly Func<int, bool> _isKnownCategory;
    private int[] _counts = [];
    private int _stride;
    private IReadOnlyList<CocoPanopticSegment> _gt = [];
    private IReadOnlyList<CocoPanopticSegment> _pred = [];
    private string _imageId = "";
    private string _gtSource = "";
    private string _predSource = "";
    private uint _lastGt, _lastPred;
    private int _lastRow, _lastCol;

    /// <param name="isKnownCategory">Whether a category id belongs to the ground truth's category list.</param>
    public PanopticImageMatcher(Func<int, bool> isKnownCategory) => _isKnownCategory = isKnownCategory;

    /// <summary>Starts a new image. The segment lists must stay unchanged until <see cref="Finish"/>.</summary>
    public void Begin(string imageId, IReadOnlyList<CocoPanopticSegment> gtSegments, IReadOnlyList<CocoPanopticSegment> predSegments,
        string gtSource, string predSource)
    {
        _imageId = imageId;
        _gt = gtSegments;
        _pred = predSegments;
        _gtSource = gtSource;
        _predSource = predSource;
        Index(_gtIndex, gtSegments, gtSource, checkCategory: true);
        Index(_predIndex, predSegments, predSource, checkCategory: false);
        _stride = predSegments.Count + 1;
        var size = (gtSegments.Count + 1) * _stride;
        if (_counts.Length < size) _counts = new int[Math.Max(size, _counts.Length * 2)];
        else Array.Clear(_counts, 0, size);
        _lastGt = _lastPred = 0;
        _lastRow = _lastCol = 0;
    }

    private void Index(Dictionary<uint, int> index, IReadOnlyList<CocoPanopticSegment> segments, string source, bool checkCategory)
    {
        index.Clear();
        for (var i = 0; i < segments.Count; i++)
        {
            var s = segments[i];
            if (s.Id == 0 || s.Id > 0xFFFFFF)
                throw new DataFormatException($"segment id {s.Id} is outside 1..16777215", source, _imageId, s.Id);
            if (!index.TryAdd(s.Id, i + 1))
                throw new DataFormatException("duplicate segment id in segments_info", source, _imageId, s.Id);
            if (checkCategory && !_isKnownCategory(s.CategoryId))
                throw new DataFormatException($"unknown category_id {s.CategoryId} in the ground truth", source, _imageId, s.Id);
        }
    }

    /// <summary>Adds one row (or any run of pixels in the same order on both sides) of segment ids.</summary>
    public void AddPixels(ReadOnlySpan<uint> gt, ReadOnlySpan<uint> pred)
    {
        if (gt.Length != pred.Length) throw new ArgumentException("ground-truth and prediction rows differ in length");
        ref var counts = ref MemoryMarshal.GetArrayDataReference(_counts);
        ref var g0 = ref MemoryMarshal.GetReference(gt);
        ref var p0 = ref MemoryMarshal.GetReference(pred);
        uint lastG = _lastGt, lastP = _lastPred;
        int cell = _lastRow * _stride + _lastCol;
        int run = 0, x = 0, n = gt.Length;

        while (x < n)
        {
            if (Vector256.IsHardwareAccelerated && x + 8 <= n)
            {
                var vg = Vector256.LoadUnsafe(ref g0, (nuint)x);
                var vp = Vector256.LoadUnsafe(ref p0, (nuint)x);
                if (Vector256.EqualsAll(vg, Vector256.Create(lastG)) && Vector256.EqualsAll(vp, Vector256.Create(lastP)))
                {
                    run += 8;
                    x += 8;
                    continue;
                }
            }
            var end = Math.Min(n, x + 8);
            for (; x < end; x++)
            {
                uint g = Unsafe.Add(ref g0, x), p = Unsafe.Add(ref p0, x);
                if (g != lastG || p != lastP)
                {
                    Unsafe.Add(ref counts, cell) += run;
                    run = 0;
                    if (g != lastG) { _lastRow = GtRow(g); lastG = g; }
                    if (p != lastP) { _lastCol = PredColumn(p); lastP = p; }
                    cell = _lastRow * _stride + _lastCol;
                }
                run++;
            }
        }
        Unsafe.Add(ref counts, cell) += run;
        _lastGt = lastG;
        _lastPred = lastP;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private int GtRow(uint id)
    {
        if (id == 0) return 0;
        if (_gtIndex.TryGetValue(id, out var i)) return i;
        throw new DataFormatException("segment id is in the ground-truth PNG but not in its segments_info", _gtSource, _imageId, id);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private int PredColumn(uint id)
    {
        if (id == 0) return 0;
        if (_predIndex.TryGetValue(id, out var i)) return i;
        throw new DataFormatException("segment id is in the prediction PNG but not in its segments_info", _predSource, _imageId, id);
    }

    /// <summary>Applies the PQ matching rules to the table filled so far and returns the image's counts.</summary>
    public PanopticImageStatistics Finish()
    {
        int m = _gt.Count, n = _pred.Count, stride = _stride;
        var counts = _counts;

        // Prediction areas come from the PNG (panopticapi ignores any area in the prediction JSON).
        var predArea = new long[n + 1];
        for (var r = 0; r <= m; r++)
        {
            var row = r * stride;
            for (var c = 1; c <= n; c++) predArea[c] += counts[row + c];
        }
        List<uint>? absent = null;
        for (var c = 1; c <= n; c++)
        {
            var s = _pred[c - 1];
            if (predArea[c] == 0) (absent ??= []).Add(s.Id);
            else if (!_isKnownCategory(s.CategoryId))
                throw new DataFormatException($"unknown category_id {s.CategoryId} (not among the ground truth's categories)", _predSource, _imageId, s.Id);
        }
        if (absent is not null)
            throw new DataFormatException($"segment ids [{string.Join(", ", absent)}] are in segments_info but not in the prediction PNG",
                _predSource, _imageId, absent[0]);

        // Ground-truth areas come from the JSON (as in panopticapi), or from the PNG when absent.
        var gtArea = new long[m + 1];
        for (var r = 1; r <= m; r++)
        {
            long pixels = 0;
            var row = r * stride;
            for (var c = 0; c <= n; c++) pixels += counts[row + c];
            var s = _gt[r - 1];
            if (pixels == 0)
                throw new DataFormatException("segment id is in the ground-truth segments_info but not in its PNG", _gtSource, _imageId, s.Id);
            gtArea[r] = s.Area ?? pixels;
        }

        var stats = new Dictionary<int, PanopticCounts>();
        var gtMatched = new bool[m + 1];
        var predMatched = new bool[n + 1];

        // panopticapi walks the (gt, pred) pairs in ascending (gt id, pred id) order; keep it so
        // the IoU sums add up in the same order.
        var predOrder = OrderById(_pred);
        foreach (var r in OrderById(_gt))
        {
            var gs = _gt[r - 1];
            if (gs.IsCrowd) continue;
            var row = r * stride;
            foreach (var c in predOrder)
            {
                long inter = counts[row + c];
                if (inter == 0) continue;
                var ps = _pred[c - 1];
                if (gs.CategoryId != ps.CategoryId) continue;
                double union = predArea[c] + gtArea[r] - inter - counts[c];
                var iou = inter / union;
                if (iou > 0.5)
                {
                    Add(stats, gs.CategoryId, new PanopticCounts(1, 0, 0, iou));
                    gtMatched[r] = true;
                    predMatched[c] = true;
                }
            }
        }

        // Unmatched ground truth: crowd is ignored (and the last crowd segment of each category,
        // in JSON order, is remembered for the false-positive rule); the rest are false negatives.
        var crowdOfCategory = new Dictionary<int, int>();
        for (var r = 1; r <= m; r++)
        {
            if (gtMatched[r]) continue;
            var gs = _gt[r - 1];
            if (gs.IsCrowd) { crowdOfCategory[gs.CategoryId] = r; continue; }
            Add(stats, gs.CategoryId, new PanopticCounts(0, 0, 1, 0));
        }

        // Unmatched predictions are false positives unless more than half of them lies on void
        // or on a crowd region of their own category.
        for (var c = 1; c <= n; c++)
        {
            if (predMatched[c]) continue;
            var ps = _pred[c - 1];
            long ignored = counts[c];
            if (crowdOfCategory.TryGetValue(ps.CategoryId, out var crowdRow)) ignored += counts[crowdRow * stride + c];
            if ((double)ignored / predArea[c] > 0.5) continue;
            Add(stats, ps.CategoryId, new PanopticCounts(0, 1, 0, 0));
        }

        return new PanopticImageStatistics(_imageId, stats.ToList());
    }

    private static void Add(Dictionary<int, PanopticCounts> stats, int category, PanopticCounts add)
    {
        ref var slot = ref CollectionsMarshal.GetValueRefOrAddDefault(stats, category, out _);
        slot += add;
    }

    private static int[] OrderById(IReadOnlyList<CocoPanopticSegment> segments)
    {
        var order = new int[segments.Count];
        var ids = new uint[segments.Count];
        for (var i = 0; i < order.Length; i++) { order[i] = i + 1; ids[i] = segments[i].Id; }
        Array.Sort(ids, order);
        return order;
    }
}
