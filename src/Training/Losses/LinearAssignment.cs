namespace Microsoft.ML.Mask2Former.Training.Losses;

/// <summary>
/// Exact minimum-cost linear assignment (the problem <c>scipy.optimize.linear_sum_assignment</c>
/// solves) for rectangular cost matrices: shortest augmenting paths with dual potentials
/// (Hungarian / Jonker-Volgenant), O(n²·m) for n = min(rows, cols), m = max(rows, cols).
/// </summary>
/// <remarks>
/// Every row is assigned when there are at most as many rows as columns, every column otherwise;
/// <c>min(rows, cols)</c> pairs come back, sorted by row. The result is a pure function of the
/// matrix: rows are inserted in index order and, among equally short paths, the lowest column
/// index wins, so equal-cost optima are always resolved the same way.
/// </remarks>
public static class LinearAssignment
{
    /// <summary>Solves the assignment problem of a cost matrix.</summary>
    /// <param name="cost">The costs, <c>cost[row, column]</c>; every entry finite.</param>
    /// <returns>The assigned rows (ascending) and their columns, <c>min(rows, cols)</c> of each.</returns>
    /// <exception cref="ArgumentException">A cost is NaN or infinite.</exception>
    public static (int[] Rows, int[] Columns) Solve(double[,] cost)
    {
        ArgumentNullException.ThrowIfNull(cost);
        int rows = cost.GetLength(0), cols = cost.GetLength(1);
        var flat = new double[rows * cols];
        for (var r = 0; r < rows; r++)
            for (var c = 0; c < cols; c++) flat[r * cols + c] = cost[r, c];
        return Solve(flat, rows, cols);
    }

    /// <summary>Solves the assignment problem of a row-major cost matrix.</summary>
    /// <param name="cost">The costs, <paramref name="rows"/> × <paramref name="columns"/>, row by row; every entry finite.</param>
    /// <param name="rows">The number of rows (for Mask2Former: queries).</param>
    /// <param name="columns">The number of columns (for Mask2Former: targets).</param>
    /// <returns>The assigned rows (ascending) and their columns, <c>min(rows, columns)</c> of each.</returns>
    /// <exception cref="ArgumentException">A size is negative or does not match the data, or a cost is NaN or infinite.</exception>
    public static (int[] Rows, int[] Columns) Solve(ReadOnlySpan<double> cost, int rows, int columns)
    {
        if (rows < 0) throw new ArgumentException($"rows must be non-negative, got {rows}", nameof(rows));
        if (columns < 0) throw new ArgumentException($"columns must be non-negative, got {columns}", nameof(columns));
        if ((long)rows * columns != cost.Length)
            throw new ArgumentException($"the cost matrix has {cost.Length} entries, expected {rows} × {columns} = {(long)rows * columns}", nameof(cost));
        for (var k = 0; k < cost.Length; k++)
        {
            if (!double.IsFinite(cost[k]))
                throw new ArgumentException($"cost[{k / columns}, {k % columns}] is {cost[k]}: every cost must be finite", nameof(cost));
        }
        if (rows == 0 || columns == 0) return ([], []);

        if (rows <= columns)
        {
            var colOfRow = SolveWide(cost, rows, columns, transposed: false);
            var r = new int[rows];
            for (var i = 0; i < rows; i++) r[i] = i;
            return (r, colOfRow);
        }

        // More rows than columns: assign every column to a row, then report by row.
        var rowOfCol = SolveWide(cost, columns, rows, transposed: true);
        var pairs = new (int Row, int Col)[columns];
        for (var j = 0; j < columns; j++) pairs[j] = (rowOfCol[j], j);
        Array.Sort(pairs, (a, b) => a.Row.CompareTo(b.Row));
        return (pairs.Select(p => p.Row).ToArray(), pairs.Select(p => p.Col).ToArray());
    }

    /// <summary>
    /// Assigns each of <paramref name="n"/> rows to a distinct one of <paramref name="m"/> ≥ n
    /// columns; <paramref name="transposed"/> reads the matrix as its transpose.
    /// </summary>
    private static int[] SolveWide(ReadOnlySpan<double> cost, int n, int m, bool transposed)
    {
        // 1-based potentials and matching; column 0 is the virtual start of each augmenting path.
        var u = new double[n + 1];
        var v = new double[m + 1];
        var rowOfColumn = new int[m + 1];
        var previous = new int[m + 1];
        var slack = new double[m + 1];
        var visited = new bool[m + 1];
        var stride = transposed ? n : m;

        for (var row = 1; row <= n; row++)
        {
            rowOfColumn[0] = row;
            var current = 0;
            Array.Fill(slack, double.PositiveInfinity);
            Array.Clear(visited);
            do
            {
                visited[current] = true;
                var i = rowOfColumn[current];
                var delta = double.PositiveInfinity;
                var next = 0;
                for (var j = 1; j <= m; j++)
                {
                    if (visited[j]) continue;
                    var c = transposed ? cost[(j - 1) * stride + (i - 1)] : cost[(i - 1) * stride + (j - 1)];
                    var reduced = c - u[i] - v[j];
                    if (reduced < slack[j])
                    {
                        slack[j] = reduced;
                        previous[j] = current;
                    }
                    // Strict comparison: the lowest column among equal slacks is taken.
                    if (slack[j] < delta)
                    {
                        delta = slack[j];
                        next = j;
                    }
                }
                for (var j = 0; j <= m; j++)
                {
                    if (visited[j])
                    {
                        u[rowOfColumn[j]] += delta;
                        v[j] -= delta;
                    }
                    else
                    {
                        slack[j] -= delta;
                    }
                }
                if (next == 0)
                    throw new ArgumentException("the costs span too wide a range to be compared in double precision", nameof(cost));
                current = next;
            }
            while (rowOfColumn[current] != 0);

            // Flip the augmenting path back to its start.
            do
            {
                var before = previous[current];
                rowOfColumn[current] = rowOfColumn[before];
                current = before;
            }
            while (current != 0);
        }

        var result = new int[n];
        for (var j = 1; j <= m; j++)
        {
            if (rowOfColumn[j] != 0) result[rowOfColumn[j] - 1] = j - 1;
        }
        return result;
    }
}
