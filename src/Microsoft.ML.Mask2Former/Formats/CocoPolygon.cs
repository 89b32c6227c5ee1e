namespace Microsoft.ML.Mask2Former.Formats;

/// <summary>
/// Polygon rasterisation with the exact pixel decisions of pycocotools' <c>rleFrPoly</c>: the
/// vertices are scaled by 5 and rounded, the boundary is walked densely on that finer grid,
/// and a pixel column x gets its runs from the points where the boundary crosses the column's
/// centre, each rounded up to a pixel row. The output is the RLE counts, column-major.
/// </summary>
internal static class CocoPolygon
{
    private const double Scale = 5;

    /// <summary>Coordinates beyond this magnitude are refused (they cannot be real annotations and would overflow the integer grid).</summary>
    public const double MaxCoordinate = 1e6;

    /// <summary>Upper bound on boundary points walked, so a hostile polygon cannot exhaust memory.</summary>
    private const long MaxBoundaryPoints = 1L << 26;

    public static uint[] Rasterize(ReadOnlySpan<double> xy, int height, int width)
    {
        if (xy.Length < 2) throw new ArgumentException($"a polygon needs at least one point, found {xy.Length} coordinates");
        if (xy.Length % 2 != 0) throw new ArgumentException($"a polygon needs an even number of coordinates (x, y pairs), found {xy.Length}");
        if (height < 1 || width < 1) throw new ArgumentException($"cannot rasterise a polygon into a {height}x{width} mask");
        foreach (var v in xy)
        {
            if (!double.IsFinite(v) || Math.Abs(v) > MaxCoordinate)
                throw new ArgumentException($"polygon coordinate {v} is not finite or beyond ±{MaxCoordinate}");
        }

        var k = xy.Length / 2;
        var x = new int[k + 1];
        var y = new int[k + 1];
        for (var j = 0; j < k; j++)
        {
            // C's (int) cast truncates toward zero, as C#'s does.
            x[j] = (int)(Scale * xy[2 * j] + .5);
            y[j] = (int)(Scale * xy[2 * j + 1] + .5);
        }
        x[k] = x[0];
        y[k] = y[0];

        long total = 0;
        for (var j = 0; j < k; j++) total += Math.Max(Math.Abs(x[j] - x[j + 1]), Math.Abs(y[j] - y[j + 1])) + 1;
        if (total > MaxBoundaryPoints) throw new ArgumentException($"polygon boundary is too long to rasterise ({total} points on the ×5 grid)");

        // Dense boundary points (u, v) on the ×5 grid.
        var u = new int[total];
        var v2 = new int[total];
        var m = 0;
        for (var j = 0; j < k; j++)
        {
            int xs = x[j], xe = x[j + 1], ys = y[j], ye = y[j + 1];
            var dx = Math.Abs(xe - xs);
            var dy = Math.Abs(ys - ye);
            var flip = (dx >= dy && xs > xe) || (dx < dy && ys > ye);
            if (flip)
            {
                (xs, xe) = (xe, xs);
                (ys, ye) = (ye, ys);
            }
            // A zero-length edge gives 0/0 = NaN here; its single point is never read below,
            // because it repeats its neighbours' u.
            var s = dx >= dy ? (double)(ye - ys) / dx : (double)(xe - xs) / dy;
            if (dx >= dy)
            {
                for (var d = 0; d <= dx; d++)
                {
                    var t = flip ? dx - d : d;
                    u[m] = t + xs;
                    v2[m] = (int)(ys + s * t + .5);
                    m++;
                }
            }
            else
            {
                for (var d = 0; d <= dy; d++)
                {
                    var t = flip ? dy - d : d;
                    v2[m] = t + ys;
                    u[m] = (int)(xs + s * t + .5);
                    m++;
                }
            }
        }

        // Crossings of pixel-column centres, downsampled to pixel coordinates.
        var positions = new List<uint>();
        for (var j = 1; j < m; j++)
        {
            if (u[j] == u[j - 1]) continue;
            double xd = u[j] < u[j - 1] ? u[j] : u[j] - 1;
            xd = (xd + .5) / Scale - .5;
            if (Math.Floor(xd) != xd || xd < 0 || xd > width - 1) continue;
            double yd = v2[j] < v2[j - 1] ? v2[j] : v2[j - 1];
            yd = (yd + .5) / Scale - .5;
            if (yd < 0) yd = 0;
            else if (yd > height) yd = height;
            yd = Math.Ceiling(yd);
            positions.Add(unchecked((uint)((int)xd * height + (int)yd)));
        }
        positions.Add((uint)height * (uint)width);
        positions.Sort();

        // Differences of the sorted positions are the runs; a zero-length run joins its neighbours.
        var a = positions.ToArray();
        uint previous = 0;
        for (var j = 0; j < a.Length; j++)
        {
            var t = a[j];
            a[j] -= previous;
            previous = t;
        }
        var counts = new List<uint>(a.Length) { a[0] };
        var i = 1;
        while (i < a.Length)
        {
            if (a[i] > 0)
            {
                counts.Add(a[i++]);
            }
            else
            {
                i++;
                if (i < a.Length) counts[^1] += a[i++];
            }
        }
        return counts.ToArray();
    }
}
