using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Microsoft.ML.Mask2Former.Evaluation;

/// <summary>
/// The mergeable state of a semantic segmentation evaluation: detectron2's
/// <c>SemSegEvaluator</c> confusion matrix of (K + 1) × (K + 1) pixel counts, indexed
/// <c>[predicted, groundTruth]</c>, where ground-truth pixels equal to the ignore label are
/// counted in the extra column K. Shards evaluated apart (threads, processes, machines) merge
/// with <see cref="Merge"/>; <see cref="ToJson"/> / <see cref="FromJson"/> carry them exactly.
/// An image that is refused (bad label, unreadable file) leaves the accumulator unchanged.
/// Not thread-safe: use one accumulator per thread and merge them.
/// </summary>
/// <remarks>
/// Stricter than detectron2, which indexes its <c>bincount</c> with whatever values it gets: a
/// predicted label outside 0..K−1, or a ground-truth label outside 0..K−1 that is not the
/// ignore label, is refused with a <see cref="DataFormatException"/> naming the file and pixel.
/// </remarks>
public sealed class SemanticSegmentationAccumulator
{
    private readonly long[] _counts;

    // One image is counted here first and added to _counts only once it is read without error,
    // so a refused image leaves the accumulator as it was. _touched lists the non-zero cells.
    private long[]? _image;
    private readonly List<int> _touched = [];

    /// <summary>Creates an empty accumulator.</summary>
    /// <param name="numClasses">K, the number of classes (labels 0..K−1).</param>
    /// <param name="ignoreLabel">The ground-truth label of pixels left out of every metric (detectron2's <c>ignore_label</c>, 255 by default).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="numClasses"/> is not in 1..<see cref="MaxClasses"/>.</exception>
    public SemanticSegmentationAccumulator(int numClasses, int ignoreLabel = 255)
    {
        if (numClasses is < 1 or > MaxClasses)
            throw new ArgumentOutOfRangeException(nameof(numClasses), numClasses, $"the number of classes must be in 1..{MaxClasses}");
        NumClasses = numClasses;
        IgnoreLabel = ignoreLabel;
        _counts = new long[(long)(numClasses + 1) * (numClasses + 1)];
    }

    /// <summary>
    /// The largest supported K. The matrix holds (K + 1)² counts (twice, with the per-image
    /// scratch), 268 MB at this bound; semantic segmentation data sets have far fewer classes.
    /// </summary>
    public const int MaxClasses = 4096;

    /// <summary>K, the number of classes.</summary>
    public int NumClasses { get; }

    /// <summary>The ground-truth label that is ignored.</summary>
    public int IgnoreLabel { get; }

    /// <summary>The number of images added (merged accumulators included).</summary>
    public long ImageCount { get; private set; }

    /// <summary>
    /// The pixel count of one confusion-matrix cell: pixels predicted <paramref name="predicted"/>
    /// whose ground truth is <paramref name="groundTruth"/>; both in 0..K, where ground truth K
    /// means "ignore label" (and predicted K is always 0).
    /// </summary>
    public long this[int predicted, int groundTruth]
    {
        get
        {
            ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)predicted, (uint)NumClasses, nameof(predicted));
            ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)groundTruth, (uint)NumClasses, nameof(groundTruth));
            return _counts[predicted * (NumClasses + 1) + groundTruth];
        }
    }

    /// <summary>Adds one image given as row-major label maps of equal size.</summary>
    /// <param name="prediction">Predicted labels, each in 0..K−1.</param>
    /// <param name="groundTruth">Ground-truth labels, each in 0..K−1 or the ignore label.</param>
    /// <exception cref="DataFormatException">The maps differ in size or hold a label out of range.</exception>
    public void Add(ReadOnlySpan<int> prediction, ReadOnlySpan<int> groundTruth)
    {
        if (prediction.Length != groundTruth.Length)
            throw new DataFormatException($"size mismatch: the prediction has {prediction.Length} pixels, the ground truth {groundTruth.Length}");
        BeginImage();
        var bad = AddPixels(prediction, groundTruth);
        if (bad >= 0)
        {
            DiscardImage();
            throw BadLabel(prediction[bad], groundTruth[bad], $"pixel {bad}", null, null);
        }
        CommitImage();
    }

    /// <summary>
    /// Adds one image read from two label PNGs (grayscale of any bit depth, or palette indices),
    /// streaming them row by row.
    /// </summary>
    /// <param name="predictionPath">The predicted label map.</param>
    /// <param name="groundTruthPath">The ground-truth label map.</param>
    /// <exception cref="DataFormatException">A file is not a single-channel PNG, the sizes differ, or a label is out of range.</exception>
    public void Add(string predictionPath, string groundTruthPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(predictionPath);
        ArgumentException.ThrowIfNullOrEmpty(groundTruthPath);
        int[] predRow = [], gtRow = [];
        AddFiles(predictionPath, groundTruthPath, ref predRow, ref gtRow);
    }

    /// <summary>The body of <see cref="Add(string, string)"/> with row buffers a caller reuses across images.</summary>
    internal void AddFiles(string predictionPath, string groundTruthPath, ref int[] predRow, ref int[] gtRow)
    {
        if (!File.Exists(groundTruthPath)) throw new DataFormatException("ground-truth label PNG not found", groundTruthPath);
        if (!File.Exists(predictionPath)) throw new DataFormatException($"prediction label PNG not found (for ground truth '{groundTruthPath}')", predictionPath);
        using var gt = PngRowReader.Open(groundTruthPath);
        using var pred = PngRowReader.Open(predictionPath);
        if (gt.Width != pred.Width || gt.Height != pred.Height)
            throw new DataFormatException(
                $"size mismatch: prediction '{predictionPath}' is {pred.Width}×{pred.Height} but ground truth '{groundTruthPath}' is {gt.Width}×{gt.Height}",
                predictionPath);
        var width = gt.Width;
        if (predRow.Length != width)
        {
            predRow = new int[width];
            gtRow = new int[width];
        }
        BeginImage();
        try
        {
            for (var y = 0; y < gt.Height; y++)
            {
                pred.ReadLabelRow(predRow);
                gt.ReadLabelRow(gtRow);
                var bad = AddPixels(predRow, gtRow);
                if (bad >= 0) throw BadLabel(predRow[bad], gtRow[bad], $"pixel ({bad}, {y})", predictionPath, groundTruthPath);
            }
        }
        catch
        {
            DiscardImage();
            throw;
        }
        CommitImage();
    }

    private void BeginImage()
    {
        _image ??= new long[_counts.Length];
        _touched.Clear();
    }

    private void CommitImage()
    {
        var image = _image!;
        foreach (var cell in _touched)
        {
            _counts[cell] += image[cell];
            image[cell] = 0;
        }
        _touched.Clear();
        ImageCount++;
    }

    private void DiscardImage()
    {
        var image = _image!;
        foreach (var cell in _touched) image[cell] = 0;
        _touched.Clear();
    }

    /// <summary>Counts the pixels into the current image; returns the index of the first bad pixel or −1.</summary>
    private int AddPixels(ReadOnlySpan<int> prediction, ReadOnlySpan<int> groundTruth)
    {
        var k = NumClasses;
        var stride = k + 1;
        var ignore = IgnoreLabel;
        // Label maps come in runs of equal pixel pairs: counting a run in a register and adding
        // it once avoids a chain of increments on one memory cell (one per pixel otherwise).
        int runP = 0, runG = 0, run = 0;
        var n = prediction.Length;
        ref var pred = ref MemoryMarshal.GetReference(prediction);
        ref var gt = ref MemoryMarshal.GetReference(groundTruth);
        for (var i = 0; i < n; i++)
        {
            if (run > 0 && Vector256.IsHardwareAccelerated)
            {
                // Eight pixels at a time while they continue the run.
                var vp = Vector256.Create(runP);
                var vg = Vector256.Create(runG);
                while (i + 8 <= n && Vector256.LoadUnsafe(ref pred, (nuint)i) == vp && Vector256.LoadUnsafe(ref gt, (nuint)i) == vg)
                {
                    run += 8;
                    i += 8;
                }
                if (i == n) break;
            }
            var p = prediction[i];
            var g = groundTruth[i];
            if (p == runP && g == runG && run > 0)
            {
                run++;
                continue;
            }
            if (g != ignore && (uint)g >= (uint)k) return Flush(runP, runG, run, i);
            if ((uint)p >= (uint)k) return Flush(runP, runG, run, i);
            Flush(runP, runG, run, -1);
            runP = p;
            runG = g;
            run = 1;
        }
        return Flush(runP, runG, run, -1);

        int Flush(int p, int g, int count, int result)
        {
            if (count > 0)
            {
                var cell = p * stride + (g == ignore ? k : g);
                ref var slot = ref _image![cell];
                if (slot == 0) _touched.Add(cell);
                slot += count;
            }
            return result;
        }
    }

    private DataFormatException BadLabel(int predicted, int groundTruth, string where, string? predictionSource, string? groundTruthSource)
    {
        var range = $"0..{NumClasses - 1}";
        return groundTruth != IgnoreLabel && (uint)groundTruth >= (uint)NumClasses
            ? new DataFormatException($"ground-truth label {groundTruth} at {where} is outside {range} and is not the ignore label {IgnoreLabel}", groundTruthSource)
            : new DataFormatException($"predicted label {predicted} at {where} is outside {range}", predictionSource);
    }

    /// <summary>Adds another accumulator's counts (for example a shard evaluated elsewhere) to this one.</summary>
    /// <exception cref="ArgumentException">The accumulators differ in class count or ignore label.</exception>
    public void Merge(SemanticSegmentationAccumulator other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (other.NumClasses != NumClasses || other.IgnoreLabel != IgnoreLabel)
            throw new ArgumentException(
                $"cannot merge an accumulator of {other.NumClasses} classes (ignore label {other.IgnoreLabel}) into one of {NumClasses} classes (ignore label {IgnoreLabel})",
                nameof(other));
        for (var i = 0; i < _counts.Length; i++) _counts[i] += other._counts[i];
        ImageCount += other.ImageCount;
    }

    /// <summary>Computes mIoU, fwIoU, mACC, pACC and the per-class IoU / accuracy as detectron2's <c>SemSegEvaluator.evaluate</c>.</summary>
    /// <param name="classNames">K class names for the per-class keys; default "0" … "K−1".</param>
    /// <exception cref="ArgumentException">The names are not K distinct strings.</exception>
    public SemanticSegmentationMetrics ComputeMetrics(IReadOnlyList<string>? classNames = null) =>
        SemanticSegmentationMetrics.Compute(this, classNames);

    /// <summary>
    /// Serialises the accumulator:
    /// <c>{"num_classes": K, "ignore_label": L, "images": N, "confusion": [[…], …]}</c> with
    /// K + 1 rows (predicted label) of K + 1 counts (ground-truth label, the last for ignored pixels).
    /// </summary>
    public string ToJson()
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteNumber("num_classes", NumClasses);
            w.WriteNumber("ignore_label", IgnoreLabel);
            w.WriteNumber("images", ImageCount);
            w.WriteStartArray("confusion");
            var stride = NumClasses + 1;
            for (var p = 0; p < stride; p++)
            {
                w.WriteStartArray();
                for (var g = 0; g < stride; g++) w.WriteNumberValue(_counts[p * stride + g]);
                w.WriteEndArray();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>Reads the form written by <see cref="ToJson"/>.</summary>
    /// <param name="json">The JSON text.</param>
    /// <param name="source">A name for error messages (for example the shard's file path).</param>
    /// <exception cref="DataFormatException">The JSON is malformed or inconsistent.</exception>
    public static SemanticSegmentationAccumulator FromJson(string json, string source = "<json>")
    {
        ArgumentNullException.ThrowIfNull(json);
        JsonDocument doc;
        try { doc = JsonDocument.Parse(json); }
        catch (JsonException e) { throw new DataFormatException($"malformed accumulator JSON: {e.Message}", source, inner: e); }
        using (doc)
        {
            var f = new JsonFields(source, "semantic segmentation accumulator");
            var root = doc.RootElement;
            var k = f.Int32(root, "num_classes", 1, MaxClasses);
            var result = new SemanticSegmentationAccumulator(k, f.Int32(root, "ignore_label"));
            result.ImageCount = f.Integer(root, "images");
            if (result.ImageCount < 0) throw f.Error($"negative image count {result.ImageCount}");
            var rows = f.Required(root, "confusion", JsonValueKind.Array);
            var stride = k + 1;
            if (rows.GetArrayLength() != stride) throw f.Error($"'confusion' has {rows.GetArrayLength()} rows; {stride} expected for {k} classes");
            var p = 0;
            foreach (var row in rows.EnumerateArray())
            {
                if (row.ValueKind != JsonValueKind.Array || row.GetArrayLength() != stride)
                    throw f.Error($"row {p} of 'confusion' must be an array of {stride} counts");
                var g = 0;
                foreach (var cell in row.EnumerateArray())
                {
                    var name = string.Create(CultureInfo.InvariantCulture, $"confusion[{p}][{g}]");
                    var v = f.AsInteger(cell, name);
                    if (v < 0) throw f.Error($"{name} is negative ({v})");
                    if (p == k && v != 0) throw f.Error($"{name} is {v}, but no pixel can be predicted as class {k}");
                    result._counts[p * stride + g] = v;
                    g++;
                }
                p++;
            }
            return result;
        }
    }
}
