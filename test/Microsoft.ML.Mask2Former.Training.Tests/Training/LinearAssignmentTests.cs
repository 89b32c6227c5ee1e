using Microsoft.ML.Mask2Former.Training.Losses;

namespace Microsoft.ML.Mask2Former.Training.Tests.Training;

[TestClass]
public sealed class LinearAssignmentTests
{
    /// <summary>The minimum total cost over every assignment of min(rows, cols) pairs, by enumeration.</summary>
    private static double BruteForce(double[,] cost)
    {
        int rows = cost.GetLength(0), cols = cost.GetLength(1);
        var transpose = rows > cols;
        int n = Math.Min(rows, cols), m = Math.Max(rows, cols);
        var best = double.PositiveInfinity;
        var used = new bool[m];
        void Recurse(int i, double sum)
        {
            if (i == n)
            {
                best = Math.Min(best, sum);
                return;
            }
            for (var j = 0; j < m; j++)
            {
                if (used[j]) continue;
                used[j] = true;
                Recurse(i + 1, sum + (transpose ? cost[j, i] : cost[i, j]));
                used[j] = false;
            }
        }
        Recurse(0, 0);
        return best;
    }

    private static double[,] RandomMatrix(Random random, int rows, int cols, bool ties)
    {
        var cost = new double[rows, cols];
        for (var r = 0; r < rows; r++)
            for (var c = 0; c < cols; c++)
                // Few distinct small integers make many equal-cost optima; the rest are continuous (and may be negative).
                cost[r, c] = ties ? random.Next(0, 3) : random.NextDouble() * 20 - 5;
        return cost;
    }

    private static void AssertValid(double[,] cost, int[] rows, int[] cols)
    {
        int n = cost.GetLength(0), m = cost.GetLength(1);
        Assert.HasCount(Math.Min(n, m), rows);
        Assert.HasCount(rows.Length, cols);
        for (var k = 1; k < rows.Length; k++) Assert.IsLessThan(rows[k], rows[k - 1], "rows must be strictly ascending");
        Assert.AreEqual(cols.Length, cols.Distinct().Count(), "a column is used twice");
        foreach (var r in rows) Assert.IsTrue(r >= 0 && r < n);
        foreach (var c in cols) Assert.IsTrue(c >= 0 && c < m);
    }

    [TestMethod]
    public void EqualsBruteForceOnRandomMatrices()
    {
        var random = new Random(20251124);
        var checkedCount = 0;
        for (var rows = 1; rows <= 7; rows++)
        {
            for (var cols = 1; cols <= 7; cols++)
            {
                for (var trial = 0; trial < 10; trial++)
                {
                    var cost = RandomMatrix(random, rows, cols, ties: trial % 2 == 1);
                    var (r, c) = LinearAssignment.Solve(cost);
                    AssertValid(cost, r, c);
                    var total = r.Select((row, k) => cost[row, c[k]]).Sum();
                    Assert.AreEqual(BruteForce(cost), total, 1e-9, $"{rows}x{cols} trial {trial}");
                    checkedCount++;
                }
            }
        }
        Assert.AreEqual(490, checkedCount);
    }

    [TestMethod]
    public void AllEqualCostsGiveTheIdentityAndAreDeterministic()
    {
        var cost = new double[4, 6];
        var (r, c) = LinearAssignment.Solve(cost);
        CollectionAssert.AreEqual(new[] { 0, 1, 2, 3 }, r);
        CollectionAssert.AreEqual(new[] { 0, 1, 2, 3 }, c);

        var random = new Random(7);
        for (var trial = 0; trial < 50; trial++)
        {
            var m = RandomMatrix(random, 1 + trial % 7, 1 + trial / 7 % 7, ties: true);
            var a = LinearAssignment.Solve(m);
            var b = LinearAssignment.Solve((double[,])m.Clone());
            CollectionAssert.AreEqual(a.Rows, b.Rows);
            CollectionAssert.AreEqual(a.Columns, b.Columns);
        }
    }

    [TestMethod]
    public void KnownSmallCases()
    {
        // The classic 3x3 example: optimum 5 (0→1, 1→0, 2→2).
        var (r, c) = LinearAssignment.Solve(new double[,] { { 4, 1, 3 }, { 2, 0, 5 }, { 3, 2, 2 } });
        CollectionAssert.AreEqual(new[] { 0, 1, 2 }, r);
        CollectionAssert.AreEqual(new[] { 1, 0, 2 }, c);

        // More rows (queries) than columns (targets): the cheapest row per column wins.
        (r, c) = LinearAssignment.Solve(new double[,] { { 9, 9 }, { 1, 9 }, { 9, 9 }, { 9, 2 } });
        CollectionAssert.AreEqual(new[] { 1, 3 }, r);
        CollectionAssert.AreEqual(new[] { 0, 1 }, c);

        (r, c) = LinearAssignment.Solve(new double[0, 5]);
        Assert.IsEmpty(r);
        Assert.IsEmpty(c);
        (r, c) = LinearAssignment.Solve(new double[3, 0]);
        Assert.IsEmpty(r);
        Assert.IsEmpty(c);
    }

    [TestMethod]
    public void LargerRectangularMatchesAGreedyLowerBoundCheck()
    {
        // 100 queries x 20 targets, as in training: the result is a valid assignment whose cost
        // no single swap of an assigned row for an unassigned one improves.
        var random = new Random(3);
        var cost = RandomMatrix(random, 100, 20, ties: false);
        var (r, c) = LinearAssignment.Solve(cost);
        AssertValid(cost, r, c);
        var assigned = r.ToHashSet();
        for (var k = 0; k < r.Length; k++)
            for (var other = 0; other < 100; other++)
                if (!assigned.Contains(other))
                    Assert.IsGreaterThanOrEqualTo(cost[r[k], c[k]] - 1e-12, cost[other, c[k]]);
    }

    [TestMethod]
    public void NonFiniteCostsAreRejected()
    {
        foreach (var bad in new[] { double.NaN, double.PositiveInfinity, double.NegativeInfinity })
        {
            var cost = new double[,] { { 1, 2 }, { 3, bad } };
            var e = Assert.ThrowsExactly<ArgumentException>(() => LinearAssignment.Solve(cost));
            StringAssert.Contains(e.Message, "cost[1, 1]");
        }
        Assert.ThrowsExactly<ArgumentException>(() => LinearAssignment.Solve(new double[5], 2, 3));
    }
}
