namespace Microsoft.ML.Mask2Former.Training.Tests.Training;

/// <summary>
/// The Mask2Former costs and losses written out in plain doubles, for tests: when points are the
/// pixel centres of a mask, sampling a mask at them gives back its pixels, so these see the same
/// numbers the tensor code sees.
/// </summary>
internal static class LossHandComputation
{
    public static double[] Softmax(double[] logits)
    {
        var max = logits.Max();
        var e = logits.Select(v => Math.Exp(v - max)).ToArray();
        var s = e.Sum();
        return e.Select(v => v / s).ToArray();
    }

    public static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));

    /// <summary>Binary cross-entropy of a logit against a target in [0, 1], computed stably.</summary>
    public static double Bce(double x, double t) => Math.Max(x, 0) - x * t + Math.Log(1 + Math.Exp(-Math.Abs(x)));

    public static double MeanBce(double[] logits, double[] targets) => logits.Select((x, i) => Bce(x, targets[i])).Average();

    public static double Dice(double[] logits, double[] targets)
    {
        var p = logits.Select(Sigmoid).ToArray();
        var numerator = 2 * p.Select((v, i) => v * targets[i]).Sum();
        var denominator = p.Sum() + targets.Sum();
        return 1 - (numerator + 1) / (denominator + 1);
    }

    /// <summary>The matcher cost of one query against one target.</summary>
    public static double Cost(double[] classLogits, double[] maskLogits, int label, double[] mask,
        double classWeight = 2, double maskWeight = 5, double diceWeight = 5) =>
        classWeight * -Softmax(classLogits)[label] + maskWeight * MeanBce(maskLogits, mask) + diceWeight * Dice(maskLogits, mask);

    /// <summary>The least total cost over every injective pairing of min(Q, T) queries and targets, with the pairing.</summary>
    public static (double Cost, int[] TargetOfQuery) BruteForce(double[,] cost)
    {
        int q = cost.GetLength(0), t = cost.GetLength(1);
        var best = double.PositiveInfinity;
        int[] bestMap = [];
        var map = Enumerable.Repeat(-1, q).ToArray();
        var used = new bool[q];
        // Assign each target to a distinct query when T ≤ Q; otherwise each query to a distinct target.
        if (t <= q)
        {
            void Recurse(int j, double sum)
            {
                if (j == t)
                {
                    if (sum < best) { best = sum; bestMap = (int[])map.Clone(); }
                    return;
                }
                for (var i = 0; i < q; i++)
                {
                    if (used[i]) continue;
                    used[i] = true; map[i] = j;
                    Recurse(j + 1, sum + cost[i, j]);
                    used[i] = false; map[i] = -1;
                }
            }
            Recurse(0, 0);
        }
        else
        {
            var usedT = new bool[t];
            void Recurse(int i, double sum)
            {
                if (i == q)
                {
                    if (sum < best) { best = sum; bestMap = (int[])map.Clone(); }
                    return;
                }
                for (var j = 0; j < t; j++)
                {
                    if (usedT[j]) continue;
                    usedT[j] = true; map[i] = j;
                    Recurse(i + 1, sum + cost[i, j]);
                    usedT[j] = false; map[i] = -1;
                }
            }
            Recurse(0, 0);
        }
        return (best, bestMap);
    }
}
