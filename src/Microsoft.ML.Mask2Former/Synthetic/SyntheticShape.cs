namespace Microsoft.ML.Mask2Former.Synthetic;

/// <summary>The thing classes of the synthetic set: filled shapes, tested at pixel centres.</summary>
internal enum SyntheticShapeKind
{
    Circle,
    Square,
    Triangle,
    Cross,
}

/// <summary>One placed shape: its kind, centre, size (circumradius-like half extent) and rotation.</summary>
internal readonly record struct SyntheticShape(SyntheticShapeKind Kind, double CenterX, double CenterY, double Size, double Angle)
{
    /// <summary>Whether the point (x, y) lies inside the shape.</summary>
    public bool Contains(double x, double y)
    {
        double dx = x - CenterX, dy = y - CenterY;
        // Rotate the point into the shape's own frame.
        double cos = Math.Cos(Angle), sin = Math.Sin(Angle);
        double u = cos * dx + sin * dy, v = -sin * dx + cos * dy;
        var s = Size;
        switch (Kind)
        {
            case SyntheticShapeKind.Circle:
                return dx * dx + dy * dy <= s * s;
            case SyntheticShapeKind.Square:
                return Math.Abs(u) <= s * 0.8 && Math.Abs(v) <= s * 0.8;
            case SyntheticShapeKind.Cross:
                var arm = s * 0.33;
                return (Math.Abs(u) <= s && Math.Abs(v) <= arm) || (Math.Abs(v) <= s && Math.Abs(u) <= arm);
            default:
                // Equilateral triangle with circumradius s: inside all three edges' half-planes.
                for (var k = 0; k < 3; k++)
                {
                    var a = k * 2 * Math.PI / 3;
                    // Each edge's outward normal points away from a vertex; the edge lies at distance s/2.
                    if (-(Math.Cos(a) * u + Math.Sin(a) * v) > s / 2) return false;
                }
                return true;
        }
    }

    /// <summary>The pixel bounding box that can contain the shape, clipped to the image: [x0, x1) × [y0, y1).</summary>
    public (int X0, int Y0, int X1, int Y1) Bounds(int width, int height)
    {
        // A rotated square reaches 0.8·√2 ≈ 1.13 times its size from the centre.
        var r = 1.2 * Size + 1;
        return (Math.Max(0, (int)Math.Floor(CenterX - r)), Math.Max(0, (int)Math.Floor(CenterY - r)),
            Math.Min(width, (int)Math.Ceiling(CenterX + r) + 1), Math.Min(height, (int)Math.Ceiling(CenterY + r) + 1));
    }
}
