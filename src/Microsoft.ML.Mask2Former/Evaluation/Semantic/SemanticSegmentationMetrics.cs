using System.Text;
using Microsoft.ML.Mask2Former.ReferenceArithmetic;

namespace Microsoft.ML.Mask2Former.Evaluation;

/// <summary>
/// Semantic segmentation quality as detectron2's <c>SemSegEvaluator</c> reports it: mean IoU,
/// frequency-weighted IoU, mean class accuracy, pixel accuracy, and IoU / accuracy per class.
/// Immutable.
/// </summary>
/// <remarks>
/// <para>
/// From the confusion matrix C[predicted, ground truth] over the K classes (ignored pixels
/// excluded): tp = diag(C), gt = column sums, predicted = row sums. A class is valid when gt &gt; 0;
/// accuracy = tp / gt and IoU = tp / (gt + predicted − tp) are defined for valid classes only
/// (<see cref="double.NaN"/> otherwise, so a class predicted but absent from the ground truth
/// does not lower mIoU, as in current detectron2). mIoU and mACC average over valid classes;
/// fwIoU = Σ IoU · gt / Σ gt over valid classes; pACC = Σ tp / Σ gt. With no ground-truth pixel
/// at all, mIoU, mACC and pACC are NaN and fwIoU is 0, as numpy computes them.
/// </para>
/// <para>
/// The properties are fractions (0..1); <see cref="Results"/>, <see cref="WriteJson"/> and
/// <see cref="ToString"/> give percentages (× 100) under detectron2's keys.
/// </para>
/// </remarks>
public sealed class SemanticSegmentationMetrics
{
    private SemanticSegmentationMetrics(double meanIoU, double frequencyWeightedIoU, double meanAccuracy, double pixelAccuracy,
        IReadOnlyList<SemanticClassMetrics> perClass, long imageCount)
    {
        MeanIoU = meanIoU;
        FrequencyWeightedIoU = frequencyWeightedIoU;
        MeanAccuracy = meanAccuracy;
        PixelAccuracy = pixelAccuracy;
        PerClass = perClass;
        ImageCount = imageCount;
        var results = new List<KeyValuePair<string, double>>(2 * perClass.Count + 4)
        {
            new("mIoU", 100 * meanIoU),
            new("fwIoU", 100 * frequencyWeightedIoU),
        };
        foreach (var c in perClass) results.Add(new("IoU-" + c.Name, 100 * c.IoU));
        results.Add(new("mACC", 100 * meanAccuracy));
        results.Add(new("pACC", 100 * pixelAccuracy));
        foreach (var c in perClass) results.Add(new("ACC-" + c.Name, 100 * c.Accuracy));
        Results = results.AsReadOnly();
    }

    /// <summary>Mean IoU over the classes present in the ground truth (fraction).</summary>
    public double MeanIoU { get; }

    /// <summary>IoU averaged with each class weighted by its share of ground-truth pixels (fraction).</summary>
    public double FrequencyWeightedIoU { get; }

    /// <summary>Mean per-class accuracy over the classes present in the ground truth (fraction).</summary>
    public double MeanAccuracy { get; }

    /// <summary>Correctly labelled pixels over all non-ignored ground-truth pixels (fraction).</summary>
    public double PixelAccuracy { get; }

    /// <summary>Per-class IoU and accuracy, in label order.</summary>
    public IReadOnlyList<SemanticClassMetrics> PerClass { get; }

    /// <summary>The number of images evaluated.</summary>
    public long ImageCount { get; }

    /// <summary>
    /// detectron2's result dictionary (<c>results["sem_seg"]</c>) in its key order, values × 100:
    /// <c>mIoU</c>, <c>fwIoU</c>, <c>IoU-&lt;class&gt;</c> …, <c>mACC</c>, <c>pACC</c>, <c>ACC-&lt;class&gt;</c> ….
    /// </summary>
    public IReadOnlyList<KeyValuePair<string, double>> Results { get; }

    internal static SemanticSegmentationMetrics Compute(SemanticSegmentationAccumulator accumulator, IReadOnlyList<string>? classNames)
    {
        ArgumentNullException.ThrowIfNull(accumulator);
        var k = accumulator.NumClasses;
        var names = ClassNames(classNames, k);

        var tp = new long[k];
        var posGt = new long[k];
        var posPred = new long[k];
        for (var p = 0; p < k; p++)
        {
            for (var g = 0; g < k; g++)
            {
                var n = accumulator[p, g];
                posGt[g] += n;
                posPred[p] += n;
                if (p == g) tp[p] = n;
            }
        }
        long totalGt = 0, totalTp = 0;
        for (var c = 0; c < k; c++)
        {
            totalGt += posGt[c];
            totalTp += tp[c];
        }

        // The same arithmetic as detectron2 (float64 throughout, numpy's summation order), so
        // the results agree to the last bit; NaN marks what detectron2 leaves undefined.
        var perClass = new SemanticClassMetrics[k];
        var accValid = new List<double>(k);
        var iouValid = new List<double>(k);
        var weightedIou = new List<double>(k);
        for (var c = 0; c < k; c++)
        {
            double acc = double.NaN, iou = double.NaN;
            if (posGt[c] > 0)
            {
                acc = (double)tp[c] / posGt[c];
                accValid.Add(acc);
                var union = (double)posGt[c] + posPred[c] - tp[c];
                if (union > 0)
                {
                    iou = tp[c] / union;
                    iouValid.Add(iou);
                    weightedIou.Add(iou * ((double)posGt[c] / totalGt));
                }
            }
            perClass[c] = new SemanticClassMetrics(c, names[c], iou, acc, tp[c], posGt[c], posPred[c]);
        }
        var meanAcc = NumpySum.Sum(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(accValid)) / accValid.Count;
        var meanIou = NumpySum.Sum(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(iouValid)) / iouValid.Count;
        var fwIou = NumpySum.Sum(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(weightedIou));
        var pixelAcc = (double)totalTp / totalGt;
        return new SemanticSegmentationMetrics(meanIou, fwIou, meanAcc, pixelAcc, Array.AsReadOnly(perClass), accumulator.ImageCount);
    }

    private static string[] ClassNames(IReadOnlyList<string>? classNames, int k)
    {
        if (classNames is null) return Enumerable.Range(0, k).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToArray();
        if (classNames.Count != k) throw new ArgumentException($"{classNames.Count} class names given for {k} classes", nameof(classNames));
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var name in classNames)
        {
            if (string.IsNullOrEmpty(name)) throw new ArgumentException("a class name is empty", nameof(classNames));
            if (!seen.Add(name)) throw new ArgumentException($"class name '{name}' appears twice (result keys must be unique)", nameof(classNames));
        }
        return classNames.ToArray();
    }

    /// <summary>
    /// Writes <c>"sem_seg": {…}</c>, detectron2's result dictionary, as a property of the JSON
    /// object being written. Undefined values (NaN) are written as <c>null</c>, since JSON has no NaN.
    /// </summary>
    public void WriteJson(Utf8JsonWriter w)
    {
        ArgumentNullException.ThrowIfNull(w);
        w.WriteStartObject("sem_seg");
        foreach (var (key, value) in Results)
        {
            if (double.IsFinite(value)) w.WriteNumber(key, value);
            else w.WriteNull(key);
        }
        w.WriteEndObject();
    }

    /// <summary>
    /// The summary detectron2 logs (<c>print_csv_format</c>: the four averages, four decimals)
    /// followed by a per-class table of IoU and accuracy (percent; <c>nan</c> where undefined).
    /// </summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        sb.Append("Task: sem_seg\n");
        sb.Append("mIoU,fwIoU,mACC,pACC\n");
        sb.Append(string.Join(",", new[] { MeanIoU, FrequencyWeightedIoU, MeanAccuracy, PixelAccuracy }.Select(v => PythonFormat.Fixed(100 * v, 4))));
        sb.Append('\n');
        var nameWidth = Math.Max(5, PerClass.Count == 0 ? 0 : PerClass.Max(c => c.Name.Length));
        sb.Append('\n');
        sb.Append($"{"class".PadRight(nameWidth)} | {"IoU",8} | {"ACC",8}\n");
        sb.Append('-', nameWidth + 1).Append('+').Append('-', 10).Append('+').Append('-', 9).Append('\n');
        foreach (var c in PerClass)
            sb.Append($"{c.Name.PadRight(nameWidth)} | {PythonFormat.Fixed(100 * c.IoU, 4, 8)} | {PythonFormat.Fixed(100 * c.Accuracy, 4, 8)}\n");
        return sb.ToString();
    }
}
