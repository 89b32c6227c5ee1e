using System.Buffers;
using System.Numerics;
using System.Text;

namespace Microsoft.ML.Mask2Former.Formats;

/// <summary>
/// A binary mask in COCO run-length encoding, bit-compatible with pycocotools' <c>mask</c> API:
/// the mask is read in column-major order (down each column, columns left to right) and
/// <see cref="Counts"/> alternates runs of 0s and 1s, starting with 0s (so the first count may be 0).
/// Immutable.
/// </summary>
/// <remarks>
/// Every operation reproduces pycocotools (cocoapi <c>maskApi.c</c>) exactly, including the run
/// layout that <see cref="Merge"/> and <see cref="FromPolygon"/> produce and the compressed
/// string codec (6 bits per character, characters 48–111, counts after the second stored as
/// differences), so strings written here are byte-identical to pycocotools' and evaluation
/// numbers agree to the last bit. Counts are validated on construction: they must sum to
/// height × width.
/// </remarks>
public sealed class CocoRle : IEquatable<CocoRle>
{
    private readonly uint[] _counts;
    private double[]? _box;

    private CocoRle(int height, int width, uint[] counts)
    {
        Height = height;
        Width = width;
        _counts = counts;
    }

    /// <summary>Creates an RLE from its counts, checking that they cover the image exactly.</summary>
    /// <param name="height">Mask height in pixels.</param>
    /// <param name="width">Mask width in pixels.</param>
    /// <param name="counts">Alternating run lengths (0s first), column-major.</param>
    /// <exception cref="ArgumentException">The counts do not sum to <paramref name="height"/> × <paramref name="width"/>.</exception>
    public CocoRle(int height, int width, ReadOnlySpan<uint> counts)
        : this(height, width, counts.ToArray())
    {
        CheckSize(height, width);
        var sum = Sum(_counts);
        if (sum != (long)height * width)
            throw new ArgumentException($"RLE counts sum to {sum} but a {height}x{width} mask has {(long)height * width} pixels", nameof(counts));
    }

    /// <summary>Mask height in pixels (COCO <c>size[0]</c>).</summary>
    public int Height { get; }

    /// <summary>Mask width in pixels (COCO <c>size[1]</c>).</summary>
    public int Width { get; }

    /// <summary>The run lengths: 0s, 1s, 0s, … in column-major order.</summary>
    public ReadOnlySpan<uint> Counts => _counts;

    /// <summary>The number of pixels set (pycocotools <c>area</c>).</summary>
    public long Area
    {
        get
        {
            long a = 0;
            for (var j = 1; j < _counts.Length; j += 2) a += _counts[j];
            return a;
        }
    }

    /// <summary>
    /// The bounding box [x, y, width, height] as pycocotools' <c>toBbox</c> computes it (0s for an
    /// empty mask). Where a run of 1s spans more than one column the box covers the full height,
    /// as in pycocotools.
    /// </summary>
    public double[] ToBoundingBox() => (double[])Box.Clone();

    internal double[] Box => _box ??= ComputeBox();

    /// <summary>Encodes a column-major mask (pycocotools' Fortran-order layout): non-zero bytes are set.</summary>
    public static CocoRle EncodeColumnMajor(ReadOnlySpan<byte> mask, int height, int width)
    {
        CheckSize(height, width);
        if (mask.Length != (long)height * width)
            throw new ArgumentException($"mask holds {mask.Length} values, expected {height}x{width} = {(long)height * width}", nameof(mask));
        var counts = new List<uint>();
        byte previous = 0;
        uint run = 0;
        foreach (var b in mask)
        {
            var v = b != 0 ? (byte)1 : (byte)0;
            if (v != previous)
            {
                counts.Add(run);
                run = 0;
                previous = v;
            }
            run++;
        }
        counts.Add(run);
        return new CocoRle(height, width, counts.ToArray());
    }

    /// <summary>Encodes a row-major mask (the layout of images and of this project's segment maps): non-zero bytes are set.</summary>
    public static CocoRle EncodeRowMajor(ReadOnlySpan<byte> mask, int height, int width)
    {
        CheckSize(height, width);
        if (mask.Length != (long)height * width)
            throw new ArgumentException($"mask holds {mask.Length} values, expected {height}x{width} = {(long)height * width}", nameof(mask));
        var columns = new byte[mask.Length];
        for (var y = 0; y < height; y++)
            for (var x = 0; x < width; x++)
                columns[x * height + y] = mask[y * width + x];
        return EncodeColumnMajor(columns, height, width);
    }

    /// <summary>
    /// Encodes every segment of a row-major segment-id map (as panoptic PNGs hold them; 0 is
    /// void and gets no mask) in one pass: the same RLEs as <see cref="EncodeRowMajor"/> of each
    /// id's mask, without materialising the masks.
    /// </summary>
    public static IReadOnlyDictionary<uint, CocoRle> EncodeSegmentMap(ReadOnlySpan<uint> map, int height, int width)
    {
        CheckSize(height, width);
        if (map.Length != (long)height * width)
            throw new ArgumentException($"map holds {map.Length} values, expected {height}x{width} = {(long)height * width}", nameof(map));
        var runs = new Dictionary<uint, RunBuilder>();
        RunBuilder? last = null;
        uint lastId = 0;
        long p = 0;
        for (var x = 0; x < width; x++)
        {
            for (var y = 0; y < height; y++, p++)
            {
                var id = map[y * width + x];
                if (id == 0) continue;
                if (last is null || id != lastId)
                {
                    if (!runs.TryGetValue(id, out last)) runs[id] = last = new RunBuilder();
                    lastId = id;
                }
                if (last.Counts.Count > 0 && last.End == p)
                {
                    last.Counts[^1]++;
                }
                else
                {
                    last.Counts.Add((uint)(p - last.End));
                    last.Counts.Add(1);
                }
                last.End = p + 1;
            }
        }
        var total = (long)height * width;
        var result = new Dictionary<uint, CocoRle>(runs.Count);
        foreach (var (id, builder) in runs)
        {
            if (builder.End < total) builder.Counts.Add((uint)(total - builder.End));
            result[id] = new CocoRle(height, width, builder.Counts.ToArray());
        }
        return result;
    }

    /// <summary>One segment's runs while a map is scanned: runs so far, and where (column-major) its last run of 1s ends.</summary>
    private sealed class RunBuilder
    {
        public List<uint> Counts { get; } = [];

        public long End { get; set; }
    }

    /// <summary>Decodes into a column-major mask of 0/1 bytes.</summary>
    public byte[] DecodeColumnMajor()
    {
        var mask = new byte[(long)Height * Width];
        var p = 0;
        byte v = 0;
        foreach (var c in _counts)
        {
            mask.AsSpan(p, (int)c).Fill(v);
            p += (int)c;
            v ^= 1;
        }
        return mask;
    }

    /// <summary>Decodes into a row-major mask of 0/1 bytes.</summary>
    public byte[] DecodeRowMajor()
    {
        var mask = new byte[(long)Height * Width];
        long p = 0;
        byte v = 0;
        foreach (var c in _counts)
        {
            if (v != 0)
            {
                for (var q = p; q < p + c; q++)
                {
                    var x = (int)(q / Height);
                    var y = (int)(q % Height);
                    mask[y * Width + x] = 1;
                }
            }
            p += c;
            v ^= 1;
        }
        return mask;
    }

    /// <summary>
    /// The compressed <c>counts</c> string of pycocotools (<c>rleToString</c>): each count (after
    /// the second, its difference to the count two places before) in 5-bit groups, least
    /// significant first, with a continuation bit, as characters 48–111.
    /// </summary>
    public string ToCompressedString()
    {
        var sb = new StringBuilder(_counts.Length * 2);
        for (var i = 0; i < _counts.Length; i++)
        {
            long x = _counts[i];
            if (i > 2) x -= _counts[i - 2];
            bool more;
            do
            {
                var c = (int)(x & 0x1f);
                x >>= 5;
                more = (c & 0x10) != 0 ? x != -1 : x != 0;
                if (more) c |= 0x20;
                sb.Append((char)(c + 48));
            }
            while (more);
        }
        return sb.ToString();
    }

    /// <summary>Parses a compressed <c>counts</c> string (pycocotools <c>rleFrString</c>).</summary>
    /// <exception cref="FormatException">A character outside 48–111, a truncated count, a count out of range, or counts that do not cover <paramref name="height"/> × <paramref name="width"/>.</exception>
    public static CocoRle FromCompressedString(string counts, int height, int width)
    {
        ArgumentNullException.ThrowIfNull(counts);
        return FromCompressed(counts.AsSpan(), height, width);
    }

    /// <summary>
    /// <see cref="FromCompressedString"/> over the string's characters as they are, UTF-16 or
    /// (unescaped) UTF-8 bytes: every valid character is ASCII. Counts are decoded into a pooled
    /// buffer and copied once into the mask's own array. With <paramref name="longLived"/> (masks
    /// read from a file, which live as long as their data set) that array goes on the pinned object
    /// heap, where the collector never copies it from generation to generation (a data set's masks
    /// are tens of megabytes; m2f-eval instances segm 5 % faster); masks decoded per row stay on
    /// the ordinary heap, where short-lived arrays are cheapest.
    /// </summary>
    internal static CocoRle FromCompressed<TChar>(ReadOnlySpan<TChar> counts, int height, int width, bool longLived = false)
        where TChar : unmanaged, IBinaryInteger<TChar>
    {
        var rented = ArrayPool<uint>.Shared.Rent(Math.Max(counts.Length, 1));
        try
        {
            var n = DecodeCompressed(counts, height, width, rented);
            var kept = longLived ? GC.AllocateUninitializedArray<uint>(n, pinned: true) : new uint[n];
            rented.AsSpan(0, n).CopyTo(kept);
            return new CocoRle(height, width, kept);
        }
        finally
        {
            ArrayPool<uint>.Shared.Return(rented);
        }
    }

    /// <summary>Checks a compressed <c>counts</c> string as <see cref="FromCompressed"/> would, keeping nothing.</summary>
    internal static void CheckCompressed<TChar>(ReadOnlySpan<TChar> counts, int height, int width)
        where TChar : unmanaged, IBinaryInteger<TChar>
    {
        var rented = ArrayPool<uint>.Shared.Rent(Math.Max(counts.Length, 1));
        try
        {
            DecodeCompressed(counts, height, width, rented);
        }
        finally
        {
            ArrayPool<uint>.Shared.Return(rented);
        }
    }

    /// <summary>Decodes into <paramref name="decoded"/> (at least one slot per character); returns the number of counts.</summary>
    private static int DecodeCompressed<TChar>(ReadOnlySpan<TChar> counts, int height, int width, uint[] decoded)
        where TChar : unmanaged, IBinaryInteger<TChar>
    {
        CheckSize(height, width);
        var n = 0;
        var p = 0;
        while (p < counts.Length)
        {
            long x = 0;
            var k = 0;
            bool more;
            do
            {
                if (p >= counts.Length) throw new FormatException($"compressed RLE string ends inside a count (character {p})");
                var ch = int.CreateTruncating(counts[p]);
                if (ch < 48 || ch > 111) throw new FormatException($"compressed RLE string has character '{(char)ch}' (code {ch}) at {p}; only codes 48-111 occur");
                if (k >= 7) throw new FormatException($"compressed RLE string has a count longer than 7 characters at {p}");
                var c = ch - 48;
                x |= (long)(c & 0x1f) << (5 * k);
                more = (c & 0x20) != 0;
                p++;
                k++;
                if (!more && (c & 0x10) != 0) x |= -1L << (5 * k);
            }
            while (more);
            if (n > 2) x += decoded[n - 2];
            if (x < 0 || x > uint.MaxValue) throw new FormatException($"compressed RLE string decodes to count {x} (run {n}), outside 0..{uint.MaxValue}");
            decoded[n++] = (uint)x;
        }
        var sum = Sum(decoded.AsSpan(0, n));
        if (sum != (long)height * width)
            throw new FormatException($"RLE counts sum to {sum} but the mask size {height}x{width} has {(long)height * width} pixels");
        return n;
    }

    /// <summary>
    /// Creates an RLE from uncompressed counts (COCO's <c>{"size": [h, w], "counts": [...]}</c>, used
    /// for crowd regions), as pycocotools' <c>frPyObjects</c> does.
    /// </summary>
    public static CocoRle FromCounts(ReadOnlySpan<uint> counts, int height, int width) => new(height, width, counts);

    /// <summary>
    /// Rasterises a polygon [x0, y0, x1, y1, …] as pycocotools' <c>frPoly</c> does (boundary
    /// upsampled ×5, pixel centres on the boundary's y-crossings).
    /// </summary>
    /// <exception cref="ArgumentException">Fewer than one point, an odd number of coordinates, or a non-finite or out-of-range coordinate.</exception>
    public static CocoRle FromPolygon(ReadOnlySpan<double> xy, int height, int width)
    {
        CheckSize(height, width);
        return new CocoRle(height, width, CocoPolygon.Rasterize(xy, height, width));
    }

    /// <summary>Rasterises a box [x, y, width, height] as pycocotools' <c>frBbox</c> does (as the polygon of its corners).</summary>
    public static CocoRle FromBoundingBox(double x, double y, double boxWidth, double boxHeight, int height, int width)
    {
        ReadOnlySpan<double> corners = [x, y, x, y + boxHeight, x + boxWidth, y + boxHeight, x + boxWidth, y];
        return FromPolygon(corners, height, width);
    }

    /// <summary>
    /// The union (or, with <paramref name="intersect"/>, the intersection) of masks of one size,
    /// with pycocotools' run layout (<c>merge</c>).
    /// </summary>
    /// <exception cref="ArgumentException">No masks, or masks of different sizes.</exception>
    public static CocoRle Merge(IReadOnlyList<CocoRle> masks, bool intersect = false)
    {
        ArgumentNullException.ThrowIfNull(masks);
        if (masks.Count == 0) throw new ArgumentException("nothing to merge", nameof(masks));
        var first = masks[0];
        if (masks.Count == 1) return first;
        foreach (var other in masks)
        {
            if (other.Height != first.Height || other.Width != first.Width)
                throw new ArgumentException($"cannot merge a {other.Height}x{other.Width} mask with a {first.Height}x{first.Width} one", nameof(masks));
        }
        if ((long)first.Height * first.Width == 0) return first;
        var cnts = (uint[])first._counts.Clone();
        var m = cnts.Length;
        for (var i = 1; i < masks.Count; i++)
        {
            var b = masks[i];
            var a = cnts.AsSpan(0, m).ToArray();
            var output = new List<uint>(a.Length + b._counts.Length);
            uint ca = a[0], cb = b._counts[0], cc = 0, ct = 1;
            bool v = false, va = false, vb = false;
            int ia = 1, ib = 1;
            while (ct > 0)
            {
                var c = Math.Min(ca, cb);
                cc += c;
                ct = 0;
                ca -= c;
                if (ca == 0 && ia < a.Length) { ca = a[ia++]; va = !va; }
                ct += ca;
                cb -= c;
                if (cb == 0 && ib < b._counts.Length) { cb = b._counts[ib++]; vb = !vb; }
                ct += cb;
                var vp = v;
                v = intersect ? va && vb : va || vb;
                if (v != vp || ct == 0)
                {
                    output.Add(cc);
                    cc = 0;
                }
            }
            cnts = output.ToArray();
            m = cnts.Length;
        }
        return new CocoRle(first.Height, first.Width, cnts);
    }

    /// <summary>
    /// Intersection over union of two masks of the same size as pycocotools computes it; with
    /// <paramref name="crowd"/> the union is the area of <paramref name="detection"/> alone
    /// (the COCO rule for crowd ground truth).
    /// </summary>
    /// <exception cref="ArgumentException">The masks differ in size.</exception>
    public static double Iou(CocoRle detection, CocoRle groundTruth, bool crowd)
    {
        ArgumentNullException.ThrowIfNull(detection);
        ArgumentNullException.ThrowIfNull(groundTruth);
        if (detection.Height != groundTruth.Height || detection.Width != groundTruth.Width)
            throw new ArgumentException($"cannot compare a {detection.Height}x{detection.Width} mask with a {groundTruth.Height}x{groundTruth.Width} one");
        // pycocotools first rejects pairs whose boxes do not overlap; any box that contains its
        // mask gives the same answer, so this is only a shortcut.
        if (BoxIou(detection.Box, groundTruth.Box, crowd) <= 0) return 0;
        var (intersection, union) = Overlap(detection._counts, groundTruth._counts);
        if (intersection == 0) return 0;
        if (crowd) union = (uint)detection.Area;
        return (double)intersection / union;
    }

    /// <summary>
    /// Box IoU as pycocotools' <c>bbIou</c> computes it, boxes as [x, y, width, height]; with
    /// <paramref name="crowd"/> the union is the detection's box area.
    /// </summary>
    public static double BoxIou(ReadOnlySpan<double> detection, ReadOnlySpan<double> groundTruth, bool crowd)
    {
        if (detection.Length != 4 || groundTruth.Length != 4) throw new ArgumentException("boxes must have 4 numbers [x, y, width, height]");
        var ga = groundTruth[2] * groundTruth[3];
        var da = detection[2] * detection[3];
        var w = Math.Min(detection[2] + detection[0], groundTruth[2] + groundTruth[0]) - Math.Max(detection[0], groundTruth[0]);
        if (w <= 0) return 0;
        var h = Math.Min(detection[3] + detection[1], groundTruth[3] + groundTruth[1]) - Math.Max(detection[1], groundTruth[1]);
        if (h <= 0) return 0;
        var i = w * h;
        var u = crowd ? da : da + ga - i;
        return i / u;
    }

    private static (uint Intersection, uint Union) Overlap(uint[] a, uint[] b)
    {
        uint ca = a[0], cb = b[0], ct = 1, i = 0, u = 0;
        bool va = false, vb = false;
        int ia = 1, ib = 1;
        while (ct > 0)
        {
            var c = Math.Min(ca, cb);
            if (va || vb)
            {
                u += c;
                if (va && vb) i += c;
            }
            ct = 0;
            ca -= c;
            if (ca == 0 && ia < a.Length) { ca = a[ia++]; va = !va; }
            ct += ca;
            cb -= c;
            if (cb == 0 && ib < b.Length) { cb = b[ib++]; vb = !vb; }
            ct += cb;
        }
        return (i, u);
    }

    private double[] ComputeBox()
    {
        uint h = (uint)Height, w = (uint)Width;
        var m = _counts.Length / 2 * 2;
        if (m == 0 || h == 0) return [0, 0, 0, 0];
        uint xs = w, ys = h, xe = 0, ye = 0, xp = 0;
        // pycocotools' rleToBbox divides every run end by h; here the column and row of the running
        // position cc are carried along instead (a division only for a run of h pixels or more).
        uint cc = 0, cx = 0, cy = 0;
        for (var j = 0; j < m; j++)
        {
            var c = _counts[j];
            cc += c;
            var row = (ulong)cy + c;
            if (row >= h)
            {
                cx += (uint)(row / h);
                row %= h;
            }
            cy = (uint)row;
            uint x, y;
            if (j % 2 == 0)
            {
                (x, y) = (cx, cy);
            }
            else if (cy > 0)
            {
                (x, y) = (cx, cy - 1);
            }
            else
            {
                // The pixel before a column start (as rleToBbox: cc − 1 in unsigned arithmetic).
                var t = cc - 1;
                y = t % h;
                x = (t - y) / h;
            }
            if (j % 2 == 0) xp = x;
            else if (xp < x) { ys = 0; ye = h - 1; }
            xs = Math.Min(xs, x);
            xe = Math.Max(xe, x);
            ys = Math.Min(ys, y);
            ye = Math.Max(ye, y);
        }
        return [xs, ys, (double)xe - xs + 1, (double)ye - ys + 1];
    }

    private static long Sum(ReadOnlySpan<uint> counts)
    {
        long s = 0;
        foreach (var c in counts) s += c;
        return s;
    }

    private static void CheckSize(int height, int width)
    {
        if (height < 0 || width < 0) throw new ArgumentException($"mask size {height}x{width} is negative");
    }

    /// <summary>Two RLEs are equal when size and counts are identical (the same run layout, not merely the same pixels).</summary>
    public bool Equals(CocoRle? other) =>
        other is not null && Height == other.Height && Width == other.Width && _counts.AsSpan().SequenceEqual(other._counts);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as CocoRle);

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(Height);
        hash.Add(Width);
        foreach (var c in _counts) hash.Add(c);
        return hash.ToHashCode();
    }

    /// <summary>The size and the compressed counts, as COCO writes them.</summary>
    public override string ToString() => $"{{size: [{Height}, {Width}], counts: \"{ToCompressedString()}\"}}";
}
