namespace Microsoft.ML.Mask2Former.ReferenceArithmetic;

/// <summary>
/// The float32 accumulation order of the matrix product behind detectron2's semantic
/// <c>einsum("qc,qhw->chw")</c> in the reference: PyTorch 1.13 hands it to OpenBLAS (0.3.21,
/// Haswell-class kernel <c>sgemm_kernel_8x4_haswell_2</c>, one thread) as a column-major SGEMM with
/// M = pixels, N = classes, K = queries, alpha 1 and beta 0.
/// </summary>
/// <remarks>
/// Every output is a fused multiply-add chain over the queries of a K block, in query order, except
/// in two kernel shapes that keep two accumulator sets: an 8×4 tile and the 8×6 head and tail tiles
/// of a 12-column panel. There the products of each group of 8 queries alternate between the sets
/// (queries left over after the last full group of 8 go to the first set), and the sets are added at
/// the end. Which pixels and classes fall into those tiles follows the level-3 driver's blocking:
/// GEMM_P = 320 pixel rows per block (the last two blocks halved when fewer than 640 rows remain),
/// GEMM_Q = 320 queries per K block, and, in the first pixel block only, the classes in panels of
/// 12, else 4, else what is left; later blocks get all classes at once, split by the kernel into
/// panels of 12, 8, 4, 2 and 1. Each K block's sum is added into the output with one more rounding.
/// Checked against the reference's stored soft scores (all 26 runs that store them, bit for bit).
/// </remarks>
internal sealed class SgemmOrder
{
    private const int BlockP = 320;
    private const int BlockQ = 320;
    private const int UnrollM = 8;
    private const int UnrollN = 4;

    private readonly List<(int Start, int End)>[] _twoSetRows;

    public SgemmOrder(int pixels, int classes, int queries)
    {
        _twoSetRows = new List<(int, int)>[classes];
        for (var c = 0; c < classes; c++) _twoSetRows[c] = new List<(int, int)>();
        QueryBlocks = Blocks(queries);
        var first = true;
        for (var row = 0; row < pixels;)
        {
            var rows = BlockLength(pixels - row, BlockP);
            if (first)
            {
                for (var col = 0; col < classes;)
                {
                    var cols = classes - col;
                    if (cols >= 3 * UnrollN) cols = 3 * UnrollN;
                    else if (cols > UnrollN) cols = UnrollN;
                    Kernel(row, rows, col, cols);
                    col += cols;
                }
            }
            else Kernel(row, rows, 0, classes);
            row += rows;
            first = false;
        }
        for (var c = 0; c < classes; c++)
        {
            // Sorted, with touching ranges joined, in one pass.
            var list = _twoSetRows[c];
            list.Sort();
            var joined = new List<(int Start, int End)>(list.Count);
            foreach (var range in list)
            {
                if (joined.Count > 0 && joined[^1].End == range.Start) joined[^1] = (joined[^1].Start, range.End);
                else joined.Add(range);
            }
            _twoSetRows[c] = joined;
        }
    }

    /// <summary>The K blocks (first query, count) the driver splits the queries into.</summary>
    public IReadOnlyList<(int Start, int Length)> QueryBlocks { get; }

    /// <summary>
    /// The two-set ranges of class <paramref name="c"/> that meet pixels [<paramref name="first"/>,
    /// <paramref name="first"/> + <paramref name="count"/>), clipped to them and made relative to
    /// <paramref name="first"/>, added to <paramref name="into"/>; returns the pixels they cover.
    /// </summary>
    public int TwoSetRowsIn(int c, int first, int count, List<(int Start, int End)> into)
    {
        var list = _twoSetRows[c];
        // The ranges are sorted and disjoint: start at the first one ending after `first`.
        int lo = 0, hi = list.Count;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (list[mid].End <= first) lo = mid + 1;
            else hi = mid;
        }
        var covered = 0;
        var end = first + count;
        for (var i = lo; i < list.Count && list[i].Start < end; i++)
        {
            int a = Math.Max(list[i].Start, first) - first, b = Math.Min(list[i].End, end) - first;
            into.Add((a, b));
            covered += b - a;
        }
        return covered;
    }

    /// <summary>Whether the query at position <paramref name="j"/> of a K block of <paramref name="length"/> goes to the second set.</summary>
    public static bool SecondSet(int j, int length) => j < length / 8 * 8 && (j & 1) == 1;

    private static List<(int, int)> Blocks(int queries)
    {
        var blocks = new List<(int, int)>();
        for (var start = 0; start < queries;)
        {
            var length = BlockLength(queries - start, BlockQ);
            blocks.Add((start, length));
            start += length;
        }
        return blocks;
    }

    private static int BlockLength(int remaining, int block)
    {
        if (remaining >= block * 2) return block;
        if (remaining > block) return (remaining / 2 + UnrollM - 1) / UnrollM * UnrollM;
        return remaining;
    }

    // One call of the kernel on rows [row0, row0 + m) and classes [col0, col0 + n).
    private void Kernel(int row0, int m, int col0, int n)
    {
        var col = col0;
        var left = n;
        for (; left >= 12; left -= 12, col += 12) Panel12(row0, m, col);
        for (; left >= 8; left -= 8, col += 8) { }
        for (; left >= 4; left -= 4, col += 4)
        {
            for (var r = 0; r + 8 <= m; r += 8) Add(row0 + r, 8, col, 4);
        }
    }

    // 12 classes: with at least 16 rows the left and right six classes are computed in 16-row tiles
    // staggered by 8 rows; the first 8 rows of the left half and the last 8 rows of whichever half
    // ends behind are 8×6 tiles with two accumulator sets. Rows past that use one set.
    private void Panel12(int row0, int m, int col)
    {
        if (m < 16) return;
        Add(row0, 8, col, 6);
        var cursor = 0;
        var remaining = m;
        while (true)
        {
            cursor += 8;
            remaining -= 8;
            if (remaining < 16)
            {
                Add(row0 + cursor, 8, col, 6);
                return;
            }
            cursor += 8;
            remaining -= 8;
            if (remaining < 16)
            {
                Add(row0 + cursor, 8, col + 6, 6);
                return;
            }
        }
    }

    private void Add(int row, int rows, int col, int cols)
    {
        for (var c = col; c < col + cols; c++) _twoSetRows[c].Add((row, row + rows));
    }
}
