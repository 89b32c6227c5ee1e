using System.Text.Json;
using Microsoft.ML.Mask2Former.Formats;

namespace Microsoft.ML.Mask2Former.Tests.Formats;

/// <summary>
/// The RLE codec and mask operations against pycocotools: the compressed strings in the reference
/// ground truth (written by pycocotools), and polygon rasterisations computed by cocoapi's own
/// maskApi.c (Fixtures/pycocotools_polygons.json, provenance inside the file).
/// </summary>
[TestClass]
public sealed class CocoRleTests
{
    public static IEnumerable<object[]> Cases => [["sample"], ["synth"]];

    [TestMethod]
    [DynamicData(nameof(Cases))]
    public void ReferenceMasksDecodeAndReencodeToTheSameStringAreaAndBox(string caseName)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(TestPaths.EvaluationCase(caseName), "instances_gt.json")));
        var compressed = 0;
        var uncompressed = 0;
        foreach (var a in doc.RootElement.GetProperty("annotations").EnumerateArray())
        {
            var seg = a.GetProperty("segmentation");
            var h = seg.GetProperty("size")[0].GetInt32();
            var w = seg.GetProperty("size")[1].GetInt32();
            var counts = seg.GetProperty("counts");
            CocoRle rle;
            if (counts.ValueKind == JsonValueKind.String)
            {
                rle = CocoRle.FromCompressedString(counts.GetString()!, h, w);
                Assert.AreEqual(counts.GetString(), rle.ToCompressedString());
                compressed++;
            }
            else
            {
                rle = CocoRle.FromCounts(counts.EnumerateArray().Select(c => c.GetUInt32()).ToArray(), h, w);
                uncompressed++;
            }
            var id = a.GetProperty("id").GetInt64();
            Assert.AreEqual(a.GetProperty("area").GetDouble(), rle.Area, $"annotation {id}");
            CollectionAssert.AreEqual(a.GetProperty("bbox").EnumerateArray().Select(e => e.GetDouble()).ToArray(), rle.ToBoundingBox(), $"annotation {id}");

            // Pixels: column-major and row-major decodes agree, and encoding either gives the same runs
            // (pycocotools' encoder makes canonical runs, and every reference mask is canonical).
            var columns = rle.DecodeColumnMajor();
            var rows = rle.DecodeRowMajor();
            for (var x = 0; x < w; x += Math.Max(1, w / 17))
                for (var y = 0; y < h; y++)
                    Assert.AreEqual(columns[x * h + y], rows[y * w + x]);
            Assert.AreEqual(rle, CocoRle.EncodeColumnMajor(columns, h, w));
            Assert.AreEqual(rle, CocoRle.EncodeRowMajor(rows, h, w));
        }
        Assert.IsGreaterThan(100, compressed);
        Assert.IsGreaterThan(5, uncompressed);
    }

    [TestMethod]
    public void PolygonsRasteriseExactlyAsPycocotools()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "test", "Microsoft.ML.Mask2Former.Tests", "Fixtures", "pycocotools_polygons.json")));
        var n = 0;
        foreach (var c in doc.RootElement.GetProperty("cases").EnumerateArray())
        {
            var h = c.GetProperty("size")[0].GetInt32();
            var w = c.GetProperty("size")[1].GetInt32();
            var xy = c.GetProperty("polygon").EnumerateArray().Select(e => e.GetDouble()).ToArray();
            var rle = CocoRle.FromPolygon(xy, h, w);
            var label = $"case {n}: {h}x{w} [{string.Join(", ", xy)}]";
            Assert.AreEqual(c.GetProperty("counts").GetString(), rle.ToCompressedString(), label);
            Assert.AreEqual(c.GetProperty("area").GetInt64(), rle.Area, label);
            CollectionAssert.AreEqual(c.GetProperty("bbox").EnumerateArray().Select(e => e.GetDouble()).ToArray(), rle.ToBoundingBox(), label);
            n++;
        }
        Assert.AreEqual(62, n);
    }

    [TestMethod]
    public void BoxesRasteriseAsTheirCornerPolygon()
    {
        var box = CocoRle.FromBoundingBox(1.5, 2, 4, 3.25, 10, 12);
        var polygon = CocoRle.FromPolygon([1.5, 2, 1.5, 5.25, 5.5, 5.25, 5.5, 2], 10, 12);
        Assert.AreEqual(polygon, box);
        Assert.AreEqual(16, CocoRle.FromBoundingBox(2, 2, 4, 4, 10, 10).Area);
    }

    [TestMethod]
    public void MergeAndIouAgreeWithPixelCounts()
    {
        var rng = new Random(5);
        for (var trial = 0; trial < 200; trial++)
        {
            int h = rng.Next(1, 30), w = rng.Next(1, 30);
            var a = RandomMask(rng, h, w);
            var b = RandomMask(rng, h, w);
            var ra = CocoRle.EncodeRowMajor(a, h, w);
            var rb = CocoRle.EncodeRowMajor(b, h, w);
            long inter = 0, union = 0, areaA = 0;
            for (var i = 0; i < a.Length; i++)
            {
                if (a[i] != 0 && b[i] != 0) inter++;
                if (a[i] != 0 || b[i] != 0) union++;
                if (a[i] != 0) areaA++;
            }
            Assert.AreEqual(union, CocoRle.Merge([ra, rb]).Area);
            Assert.AreEqual(inter, CocoRle.Merge([ra, rb], intersect: true).Area);
            Assert.AreEqual(inter == 0 ? 0 : (double)inter / union, CocoRle.Iou(ra, rb, crowd: false));
            Assert.AreEqual(inter == 0 ? 0 : (double)inter / areaA, CocoRle.Iou(ra, rb, crowd: true));
            var merged = CocoRle.Merge([ra, rb]).DecodeRowMajor();
            for (var i = 0; i < a.Length; i++) Assert.AreEqual(a[i] != 0 || b[i] != 0 ? 1 : 0, merged[i]);
        }
    }

    [TestMethod]
    public void ASegmentMapEncodesToEachSegmentsOwnMask()
    {
        var rng = new Random(11);
        for (var trial = 0; trial < 50; trial++)
        {
            int h = rng.Next(1, 25), w = rng.Next(1, 25);
            var map = new uint[h * w];
            for (var i = 0; i < map.Length; i++) map[i] = rng.NextDouble() < 0.6 && i > 0 ? map[i - 1] : (uint)rng.Next(0, 5);
            var encoded = CocoRle.EncodeSegmentMap(map, h, w);
            var ids = map.Where(v => v != 0).Distinct().ToArray();
            Assert.HasCount(ids.Length, encoded);
            foreach (var id in ids)
                Assert.AreEqual(CocoRle.EncodeRowMajor(map.Select(v => v == id ? (byte)1 : (byte)0).ToArray(), h, w), encoded[id], $"id {id}");
        }
    }

    [TestMethod]
    public void BoxIouFollowsBbIou()
    {
        Assert.AreEqual(0.5, CocoRle.BoxIou([0, 0, 10, 10], [5, 0, 5, 10], crowd: false));
        Assert.AreEqual(0.9, CocoRle.BoxIou([0, 0, 9, 10], [0, 0, 10, 10], crowd: false));
        // Crowd: intersection over the detection's own area.
        Assert.AreEqual(1.0, CocoRle.BoxIou([2, 2, 3, 3], [0, 0, 100, 100], crowd: true));
        Assert.AreEqual(0.0, CocoRle.BoxIou([0, 0, 5, 5], [5, 0, 5, 5], crowd: false));
    }

    [TestMethod]
    public void CorruptStringsAndWrongSizesAreRefused()
    {
        Assert.ThrowsExactly<FormatException>(() => CocoRle.FromCompressedString("0 1", 2, 2));   // space: code 32
        Assert.ThrowsExactly<FormatException>(() => CocoRle.FromCompressedString("\u00ff", 2, 2));
        Assert.ThrowsExactly<FormatException>(() => CocoRle.FromCompressedString("P", 2, 2));     // continuation bit, then nothing
        var e = Assert.ThrowsExactly<FormatException>(() => CocoRle.FromCompressedString("34", 2, 2)); // 3 + 4 = 7 pixels, not 4
        StringAssert.Contains(e.Message, "2x2");
        Assert.ThrowsExactly<ArgumentException>(() => CocoRle.FromCounts([1, 2], 2, 2));
        var small = CocoRle.FromCounts([4], 2, 2);
        var large = CocoRle.FromCounts([9], 3, 3);
        Assert.ThrowsExactly<ArgumentException>(() => CocoRle.Iou(small, large, false));
        Assert.ThrowsExactly<ArgumentException>(() => CocoRle.Merge([small, large]));
        Assert.ThrowsExactly<ArgumentException>(() => CocoRle.FromPolygon([1, 2, 3], 4, 4));
        Assert.ThrowsExactly<ArgumentException>(() => CocoRle.FromPolygon([1, double.NaN, 3, 4], 4, 4));
        Assert.ThrowsExactly<ArgumentException>(() => CocoRle.FromPolygon([0, 0, 1e9, 0, 1e9, 1e9], 4, 4));
    }

    private static byte[] RandomMask(Random rng, int h, int w)
    {
        var m = new byte[h * w];
        var density = rng.NextDouble();
        var x0 = rng.Next(w);
        var y0 = rng.Next(h);
        for (var y = 0; y < h; y++)
            for (var x = 0; x < w; x++)
                m[y * w + x] = (byte)((Math.Abs(x - x0) + Math.Abs(y - y0) < w * density || rng.NextDouble() < 0.05) ? 1 : 0);
        return m;
    }

    [TestMethod]
    public void CompressedCountsReadFromJsonEqualTheStringCodecWhateverTheEscaping()
    {
        // A results file whose counts strings are written three ways: as pycocotools writes them
        // (only the backslash escaped), every character as \uXXXX, and with an invalid character.
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(TestPaths.EvaluationCase("sample"), "instances_gt.json")));
        var strings = doc.RootElement.GetProperty("annotations").EnumerateArray()
            .Select(a => a.GetProperty("segmentation"))
            .Where(s => s.GetProperty("counts").ValueKind == JsonValueKind.String)
            .Select(s => (H: s.GetProperty("size")[0].GetInt32(), W: s.GetProperty("size")[1].GetInt32(), Counts: s.GetProperty("counts").GetString()!))
            .ToArray();
        Assert.IsTrue(strings.Any(s => s.Counts.Contains('\\')), "the reference strings include backslashes");
        static string AllEscaped(string s) => string.Concat(s.Select(c => $"\\u{(int)c:X4}"));
        var folder = TestPaths.NewTempFolder();
        foreach (var (name, encode) in new (string, Func<string, string>)[] { ("plain", s => JsonSerializer.Serialize(s)), ("escaped", s => $"\"{AllEscaped(s)}\"") })
        {
            var path = Path.Combine(folder, name + ".json");
            File.WriteAllText(path, "[" + string.Join(",", strings.Select(s =>
                $"{{\"image_id\": 1, \"category_id\": 1, \"score\": 0.5, \"segmentation\": {{\"size\": [{s.H}, {s.W}], \"counts\": {encode(s.Counts)}}}}}")) + "]");
            var loaded = CocoResultsFile.Load(path);
            for (var i = 0; i < strings.Length; i++)
                Assert.AreEqual(CocoRle.FromCompressedString(strings[i].Counts, strings[i].H, strings[i].W), loaded[i].Segmentation!.Rle, $"{name} string {i}");
        }
        var bad = Path.Combine(folder, "bad.json");
        File.WriteAllText(bad, "[{\"image_id\": 1, \"category_id\": 1, \"score\": 0.5, \"segmentation\": {\"size\": [2, 2], \"counts\": \"3\\u00e94\"}}]");
        var error = Assert.ThrowsExactly<DataFormatException>(() => CocoResultsFile.Load(bad));
        StringAssert.Contains(error.Message, "code 233");
        StringAssert.Contains(error.Message, "results[0]");
    }

    [TestMethod]
    public void BoxesEqualRleToBboxOnRandomMasks()
    {
        // pycocotools' rleToBbox, division by division, against the box the codec computes.
        static double[] RleToBbox(ReadOnlySpan<uint> counts, uint h, uint w)
        {
            var m = counts.Length / 2 * 2;
            if (m == 0 || h == 0) return [0, 0, 0, 0];
            uint xs = w, ys = h, xe = 0, ye = 0, cc = 0, xp = 0;
            for (var j = 0; j < m; j++)
            {
                cc += counts[j];
                var t = cc - (uint)(j % 2);
                var y = t % h;
                var x = (t - y) / h;
                if (j % 2 == 0) xp = x;
                else if (xp < x) { ys = 0; ye = h - 1; }
                xs = Math.Min(xs, x); xe = Math.Max(xe, x); ys = Math.Min(ys, y); ye = Math.Max(ye, y);
            }
            return [xs, ys, (double)xe - xs + 1, (double)ye - ys + 1];
        }
        var rng = new Random(11);
        for (var n = 0; n < 2000; n++)
        {
            int h = rng.Next(1, 40), w = rng.Next(1, 40);
            var mask = new byte[h * w];
            // Sparse, dense, single-column and full masks; runs longer than a column included.
            var density = n % 4 == 0 ? 0.02 : n % 4 == 1 ? 0.5 : n % 4 == 2 ? 0.98 : 0.0;
            for (var i = 0; i < mask.Length; i++) mask[i] = rng.NextDouble() < density ? (byte)1 : (byte)0;
            if (n % 4 == 3)
            {
                var start = rng.Next(h * w);
                mask.AsSpan(start, Math.Min(rng.Next(1, 2 * h + 1), h * w - start)).Fill(1);
            }
            var rle = CocoRle.EncodeColumnMajor(mask, h, w);
            CollectionAssert.AreEqual(RleToBbox(rle.Counts, (uint)h, (uint)w), rle.ToBoundingBox(), $"mask {n} ({h}x{w})");
        }
    }
}
