namespace Microsoft.ML.Mask2Former.Evaluation;

/// <summary>
/// COCOeval's default parameters for boxes and masks, computed the way numpy computes them so
/// that every threshold has the same bits (the ninth IoU threshold is 0.8999999999999999).
/// </summary>
internal static class CocoEvalParameters
{
    /// <summary><c>np.linspace(.5, 0.95, 10)</c>.</summary>
    public static readonly double[] IouThresholds = Linspace(.5, 0.95, 10);

    /// <summary><c>np.linspace(.0, 1.00, 101)</c>.</summary>
    public static readonly double[] RecallThresholds = Linspace(.0, 1.00, 101);

    /// <summary>Detections kept per image and category, ascending.</summary>
    public static readonly int[] MaxDetections = [1, 10, 100];

    /// <summary>Area ranges all / small / medium / large, inclusive at both ends.</summary>
    public static readonly (double Low, double High)[] AreaRanges =
        [(0, 1e5 * 1e5), (0, 32 * 32), (32 * 32, 96 * 96), (96 * 96, 1e5 * 1e5)];

    /// <summary>The labels of <see cref="AreaRanges"/>.</summary>
    public static readonly string[] AreaLabels = ["all", "small", "medium", "large"];

    /// <summary>IoU limit in matching: <c>min(t, 1 - 1e-10)</c>.</summary>
    public const double MaxMatchIou = 1 - 1e-10;

    /// <summary><c>np.spacing(1)</c>, added to precision's denominator.</summary>
    public const double Epsilon = 2.220446049250313e-16;

    public static int T => IouThresholds.Length;
    public static int R => RecallThresholds.Length;
    public static int A => AreaRanges.Length;
    public static int M => MaxDetections.Length;

    /// <summary>numpy's linspace: <c>start + i · ((stop − start) / (num − 1))</c>, the last value exactly <paramref name="stop"/>.</summary>
    private static double[] Linspace(double start, double stop, int num)
    {
        var step = (stop - start) / (num - 1);
        var y = new double[num];
        for (var i = 0; i < num; i++) y[i] = i * step + start;
        y[num - 1] = stop;
        return y;
    }
}
