using System.IO.Compression;
using Microsoft.ML.Mask2Former.Formats;

namespace Microsoft.ML.Mask2Former.Tests.Formats;

/// <summary>
/// The PNG codec reads what Pillow wrote (the reference panoptic maps, cross-checked against
/// their JSON), what an independent encoder writes in every colour type, bit depth, filter and
/// interlace mode, and what its own writer writes.
/// </summary>
[TestClass]
public sealed class PngTests
{
    private static readonly (PngColorType Type, int Depth)[] Modes =
    [
        (PngColorType.Grayscale, 1), (PngColorType.Grayscale, 2), (PngColorType.Grayscale, 4), (PngColorType.Grayscale, 8), (PngColorType.Grayscale, 16),
        (PngColorType.Rgb, 8), (PngColorType.Rgb, 16),
        (PngColorType.Palette, 1), (PngColorType.Palette, 2), (PngColorType.Palette, 4), (PngColorType.Palette, 8),
        (PngColorType.GrayscaleAlpha, 8), (PngColorType.GrayscaleAlpha, 16),
        (PngColorType.Rgba, 8), (PngColorType.Rgba, 16),
    ];

    private static readonly (int W, int H)[] Sizes = [(1, 1), (1, 9), (9, 1), (7, 5), (13, 11), (33, 17)];

    public static IEnumerable<object[]> ModeCases => Modes.Select(m => new object[] { m.Type, m.Depth });

    // ------------------------------------------------------------------ reference files written by Pillow

    [TestMethod]
    [DataRow("synth", "gt")]
    [DataRow("synth", "pred")]
    [DataRow("sample", "gt")]
    [DataRow("sample", "pred")]
    public void ReferencePanopticPngsAgreeWithTheirJson(string caseName, string side)
    {
        var dir = TestPaths.EvaluationCase(caseName);
        var dataset = CocoPanopticDataset.Load(Path.Combine(dir, $"panoptic_{side}.json"));
        var gtImages = CocoPanopticDataset.Load(Path.Combine(dir, "panoptic_gt.json")).Images.ToDictionary(i => i.Id);
        Assert.IsTrue(dataset.Annotations.Count > 0);
        long checkedAreas = 0;
        foreach (var annotation in dataset.Annotations)
        {
            var path = Path.Combine(dir, $"panoptic_{side}", annotation.FileName);
            var ids = Png.ReadIds(path, out var width, out var height);
            Assert.AreEqual(width * height, ids.Length);
            if (gtImages.TryGetValue(annotation.ImageId, out var image))
            {
                Assert.AreEqual(image.Width, width, path);
                Assert.AreEqual(image.Height, height, path);
            }

            var counts = new Dictionary<uint, long>();
            foreach (var id in ids)
            {
                if (id != 0) counts[id] = counts.GetValueOrDefault(id) + 1;
            }
            var listed = annotation.Segments.ToDictionary(s => s.Id);
            foreach (var (id, count) in counts)
            {
                Assert.IsTrue(listed.ContainsKey(id), $"{path}: id {id} ({count} pixels) is not in segments_info");
            }
            // Ground-truth areas were computed from the very pixels Pillow encoded; prediction
            // areas are deliberately wrong in places (panopticapi ignores them).
            foreach (var segment in side == "gt" ? annotation.Segments : [])
            {
                if (segment.Area is not { } area) continue;
                Assert.AreEqual(area, counts.GetValueOrDefault(segment.Id), $"{path}: area of segment {segment.Id}");
                checkedAreas++;
            }

            // Row by row gives the same ids as the whole-image call.
            using var reader = PngRowReader.Open(path);
            Assert.AreEqual(PngColorType.Rgb, reader.ColorType);
            var row = new uint[width + 3];
            for (var y = 0; y < height; y++)
            {
                reader.ReadIdRow(row);
                CollectionAssert.AreEqual(ids.AsSpan(y * width, width).ToArray(), row[..width], $"{path} row {y}");
            }
        }
        if (side == "gt") Assert.IsTrue(checkedAreas > 0, "no ground-truth areas were checked");
    }

    [TestMethod]
    public void ReferenceMapsSurviveOurWriter()
    {
        foreach (var caseName in new[] { "synth", "sample" })
        {
            var folder = Path.Combine(TestPaths.EvaluationCase(caseName), "panoptic_gt");
            foreach (var file in Directory.GetFiles(folder, "*.png"))
            {
                var ids = Png.ReadIds(file, out var w, out var h);
                var ms = new MemoryStream();
                Png.WriteIds(ms, ids, w, h);
                ms.Position = 0;
                using var reader = PngRowReader.Open(ms, "re-encoded " + file);
                Assert.AreEqual((w, h, 8, PngColorType.Rgb, false), (reader.Width, reader.Height, reader.BitDepth, reader.ColorType, reader.Interlaced));
                var row = new uint[w];
                for (var y = 0; y < h; y++)
                {
                    reader.ReadIdRow(row);
                    CollectionAssert.AreEqual(ids.AsSpan(y * w, w).ToArray(), row, $"{file} row {y}");
                }
            }
        }
    }

    // ------------------------------------------------------------------ independent encoder -> our decoder

    [TestMethod]
    [DynamicData(nameof(ModeCases))]
    public void DecodesEveryFilterAndInterlaceOfAMode(PngColorType type, int depth)
    {
        var seed = 0;
        foreach (var interlaced in new[] { false, true })
        {
            foreach (var (w, h) in Sizes)
            {
                for (var shift = 0; shift < 5; shift++)
                {
                    var image = TestImage.Random(w, h, type, depth, ++seed);
                    var bytes = PngTestFiles.Encode(image, interlaced, r => (r + shift) % 5);
                    AssertDecodes(image, interlaced, bytes, $"{type} {depth}-bit {w}x{h} interlaced={interlaced} shift={shift}");
                }
            }
        }
    }

    [TestMethod]
    public void DecodesAcrossManyIdatChunksAndRowBatches()
    {
        // 300 rows of 1921 bytes span several internal row batches; IDAT chunks of 997 bytes
        // and a few empty ones split the zlib stream at arbitrary points.
        var image = TestImage.Random(640, 300, PngColorType.Rgb, 8, 11);
        var data = PngTestFiles.Zlib(PngTestFiles.Scanlines(image, false, r => r % 5));
        var chunks = new List<byte[]> { PngTestFiles.Ihdr(640, 300, 8, 2) };
        for (var i = 0; i < data.Length; i += 997)
        {
            chunks.Add(PngTestFiles.Chunk("IDAT", data.AsSpan(i, Math.Min(997, data.Length - i))));
            if (i % 7 == 0) chunks.Add(PngTestFiles.Chunk("IDAT", []));
        }
        chunks.Add(PngTestFiles.Iend());
        AssertDecodes(image, false, PngTestFiles.Assemble([.. chunks]), "many chunks");

        // One byte per IDAT chunk, interlaced.
        var small = TestImage.Random(11, 7, PngColorType.Rgba, 8, 12);
        AssertDecodes(small, true, PngTestFiles.Encode(small, interlaced: true, idatSize: 1), "1-byte chunks");
    }

    [TestMethod]
    public void EveryFilterOnPiecewiseConstantRowsLikeSegmentMaps()
    {
        // Runs of 1 to 300 equal pixels, rows that repeat or shift the one above: the shapes
        // for which the decoder takes its run and vector paths (Sub prefix sums, Paeth runs).
        var rng = new Random(31);
        foreach (var type in new[] { PngColorType.Rgb, PngColorType.Rgba })
        {
            const int w = 700, h = 12;
            var channels = type == PngColorType.Rgb ? 3 : 4;
            var samples = new int[w * h * channels];
            for (var y = 0; y < h; y++)
            {
                // 0: runs of one colour; 1: the row above; 2: the row above shifted; 3: a gradient
                // (under a row of runs, Paeth then predicts from the left over long stretches of changing pixels).
                var mode = y % 2 == 1 ? 3 : rng.Next(3);
                for (var x = 0; x < w;)
                {
                    var run = rng.Next(1, 301);
                    var color = Enumerable.Range(0, channels).Select(_ => rng.Next(256)).ToArray();
                    for (var j = 0; j < run && x < w; j++, x++)
                    {
                        for (var k = 0; k < channels; k++)
                        {
                            var above = y > 0 ? samples[((y - 1) * w + Math.Min(w - 1, x + (mode == 2 ? 3 : 0))) * channels + k] : 0;
                            samples[(y * w + x) * channels + k] = mode switch
                            {
                                3 => (color[k] + 7 * j + 3 * k) & 255,
                                _ when mode == 0 || y == 0 => color[k],
                                _ => above,
                            };
                        }
                    }
                }
            }
            var image = new TestImage(w, h, type, 8, samples);
            for (var filter = 0; filter <= 4; filter++)
                AssertDecodes(image, false, PngTestFiles.Encode(image, filterOf: _ => filter), $"{type} filter {filter} on runs");
            AssertDecodes(image, false, PngTestFiles.Encode(image, filterOf: r => (r * 3) % 5), $"{type} mixed filters on runs");
        }
    }

    [TestMethod]
    public void AncillaryChunksAreSkippedWhereverTheyAre()
    {
        var image = TestImage.Random(5, 4, PngColorType.Rgb, 8, 5);
        var data = PngTestFiles.Zlib(PngTestFiles.Scanlines(image, false, r => r % 5));
        var bytes = PngTestFiles.Assemble(
            PngTestFiles.Ihdr(5, 4, 8, 2),
            PngTestFiles.Chunk("tEXt", "Comment\0hello"u8),
            PngTestFiles.Chunk("PLTE", [1, 2, 3, 4, 5, 6]), // a suggested palette: allowed in RGB, ignored
            PngTestFiles.Chunk("prVt", new byte[70000]),    // larger than the reader's buffer
            PngTestFiles.Chunk("IDAT", data),
            PngTestFiles.Chunk("tIME", [7, 230, 1, 1, 0, 0, 0]),
            PngTestFiles.Iend(),
            "trailing bytes after IEND are not read"u8.ToArray());
        AssertDecodes(image, false, bytes, "ancillary chunks");
    }

    [TestMethod]
    public void RgbaAlphaIsIgnored()
    {
        var rng = new Random(8);
        const int w = 37, h = 3;
        var ids = Enumerable.Range(0, w * h).Select(_ => (uint)rng.Next(1 << 24)).ToArray();
        ids[5] = 0xFFFFFF;
        foreach (var alpha in new Func<int, byte>[] { _ => 0, _ => 255, i => (byte)(i * 37) })
        {
            var rgba = new byte[w * h * 4];
            for (var i = 0; i < ids.Length; i++)
            {
                rgba[4 * i] = (byte)ids[i];
                rgba[4 * i + 1] = (byte)(ids[i] >> 8);
                rgba[4 * i + 2] = (byte)(ids[i] >> 16);
                rgba[4 * i + 3] = alpha(i);
            }
            var ms = new MemoryStream();
            Png.Write(ms, w, h, PngColorType.Rgba, 8, rgba);
            ms.Position = 0;
            using var reader = PngRowReader.Open(ms, "rgba");
            var row = new uint[w];
            for (var y = 0; y < h; y++)
            {
                reader.ReadIdRow(row);
                CollectionAssert.AreEqual(ids.AsSpan(y * w, w).ToArray(), row);
            }
        }
    }

    // ------------------------------------------------------------------ our writer -> our decoder

    [TestMethod]
    [DynamicData(nameof(ModeCases))]
    public void WriterRoundTripsEveryModeFilterAndInterlace(PngColorType type, int depth)
    {
        var seed = 100;
        foreach (var interlaced in new[] { false, true })
        {
            foreach (var (w, h) in Sizes)
            {
                var image = TestImage.Random(w, h, type, depth, ++seed);
                var palette = type == PngColorType.Palette ? PngTestFiles.DefaultPalette(depth) : default;
                var ms = new MemoryStream();
                Png.Write(ms, w, h, type, depth, image.PackAll(), palette, interlaced);
                AssertDecodes(image, interlaced, ms.ToArray(), $"{type} {depth}-bit {w}x{h} interlaced={interlaced}");
                for (var filter = 0; filter <= 4; filter++)
                {
                    ms = new MemoryStream();
                    Png.WriteCore(ms, w, h, type, depth, image.PackAll(), palette, interlaced, filter, CompressionLevel.Fastest);
                    AssertDecodes(image, interlaced, ms.ToArray(), $"{type} {depth}-bit {w}x{h} interlaced={interlaced} filter={filter}");
                }
            }
        }
    }

    [TestMethod]
    public void WriteIdsRoundTripsThroughAFileAndLeavesNoTemporaryFile()
    {
        var dir = TestPaths.NewTempFolder();
        var rng = new Random(21);
        foreach (var (w, h) in new[] { (1, 1), (3, 1), (1, 4), (641, 3), (640, 480) })
        {
            var ids = new uint[w * h];
            for (var i = 0; i < ids.Length; i++) ids[i] = i % 97 < 60 && i > 0 ? ids[i - 1] : (uint)rng.Next(1 << 24);
            ids[^1] = 0xFFFFFF;
            ids[0] = 0;
            var path = Path.Combine(dir, $"ids_{w}x{h}.png");
            File.WriteAllText(path, "an older file that the write replaces");
            Png.WriteIds(path, ids, w, h);
            CollectionAssert.AreEqual(ids, Png.ReadIds(path, out var rw, out var rh));
            Assert.AreEqual((w, h), (rw, rh));
        }
        CollectionAssert.AreEquivalent(
            new[] { "ids_1x1.png", "ids_3x1.png", "ids_1x4.png", "ids_641x3.png", "ids_640x480.png" },
            Directory.GetFiles(dir).Select(Path.GetFileName).ToArray());
    }

    [TestMethod]
    public void WriteIdsRefusesIdsAbove24BitsAndBadSizes()
    {
        var dir = TestPaths.NewTempFolder();
        var path = Path.Combine(dir, "x.png");
        var e = Assert.ThrowsExactly<ArgumentException>(() => Png.WriteIds(path, [1, 0x1000000, 3, 4], 2, 2));
        StringAssert.Contains(e.Message, "16777216");
        StringAssert.Contains(e.Message, "(1, 0)");
        Assert.IsFalse(File.Exists(path));
        Assert.AreEqual(0, Directory.GetFiles(dir).Length);
        Assert.ThrowsExactly<ArgumentException>(() => Png.WriteIds(new MemoryStream(), [1, 2, 3], 2, 2));
        Assert.ThrowsExactly<ArgumentException>(() => Png.WriteIds(new MemoryStream(), [], 0, 0));
        Assert.ThrowsExactly<ArgumentException>(() => Png.WriteIds(new MemoryStream(), [1, 2], -1, -2));
    }

    [TestMethod]
    public void WriteLabelsChoosesEightOrSixteenBitsAndRefusesNegatives()
    {
        var dir = TestPaths.NewTempFolder();
        var small = Path.Combine(dir, "small.png");
        int[] labels8 = [0, 255, 7, 7, 3, 255];
        Png.WriteLabels(small, labels8, 3, 2);
        using (var r = PngRowReader.Open(small)) Assert.AreEqual((PngColorType.Grayscale, 8), (r.ColorType, r.BitDepth));
        CollectionAssert.AreEqual(labels8, Png.ReadLabels(small, out var w, out var h));
        Assert.AreEqual((3, 2), (w, h));

        var wide = Path.Combine(dir, "wide.png");
        int[] labels16 = [0, 256, 65535, 1, 300, 2];
        Png.WriteLabels(wide, labels16, 2, 3);
        using (var r = PngRowReader.Open(wide)) Assert.AreEqual((PngColorType.Grayscale, 16), (r.ColorType, r.BitDepth));
        CollectionAssert.AreEqual(labels16, Png.ReadLabels(wide, out _, out _));

        var bad = Path.Combine(dir, "bad.png");
        var e = Assert.ThrowsExactly<ArgumentException>(() => Png.WriteLabels(bad, [0, -1], 2, 1));
        StringAssert.Contains(e.Message, "-1");
        Assert.ThrowsExactly<ArgumentException>(() => Png.WriteLabels(bad, [65536], 1, 1));
        Assert.IsFalse(File.Exists(bad));
    }

    [TestMethod]
    public void GeneralWriterRefusesInconsistentArguments()
    {
        var ms = new MemoryStream();
        Assert.ThrowsExactly<ArgumentException>(() => Png.Write(ms, 2, 2, PngColorType.Rgb, 4, new byte[6]));
        Assert.ThrowsExactly<ArgumentException>(() => Png.Write(ms, 2, 2, PngColorType.Rgb, 8, new byte[11]));
        Assert.ThrowsExactly<ArgumentException>(() => Png.Write(ms, 2, 2, PngColorType.Palette, 8, new byte[4]));
        Assert.ThrowsExactly<ArgumentException>(() => Png.Write(ms, 2, 2, PngColorType.Palette, 1, new byte[2], new byte[9]));
        Assert.ThrowsExactly<ArgumentException>(() => Png.Write(ms, 2, 2, PngColorType.Grayscale, 8, new byte[4], new byte[3]));
        Assert.ThrowsExactly<ArgumentException>(() => Png.Write(ms, 2, 2, (PngColorType)5, 8, new byte[4]));
        Assert.AreEqual(0, ms.Length);
    }

    // ------------------------------------------------------------------ reader API contract

    [TestMethod]
    [DataRow(PngColorType.Grayscale, 8, "8-bit grayscale (L)")]
    [DataRow(PngColorType.Grayscale, 16, "16-bit grayscale")]
    [DataRow(PngColorType.Palette, 8, "palette (P)")]
    [DataRow(PngColorType.Palette, 4, "4-bit palette (P)")]
    [DataRow(PngColorType.GrayscaleAlpha, 8, "grayscale with alpha (LA)")]
    [DataRow(PngColorType.Rgb, 16, "16-bit RGB")]
    [DataRow(PngColorType.Rgba, 16, "16-bit RGBA")]
    public void ReadIdRowRefusesEveryModeButEightBitRgbAndRgba(PngColorType type, int depth, string found)
    {
        var path = WriteTemp(TestImage.Random(3, 2, type, depth, 1));
        using var reader = PngRowReader.Open(path);
        var e = Assert.ThrowsExactly<DataFormatException>(() => reader.ReadIdRow(new uint[3]));
        StringAssert.Contains(e.Message, "expected an 8-bit RGB or RGBA panoptic PNG, found");
        StringAssert.Contains(e.Message, found);
        StringAssert.Contains(e.Message, path);
        Assert.AreEqual(path, e.FilePath);
    }

    [TestMethod]
    [DataRow(PngColorType.Rgb, 8, "8-bit RGB (RGB)")]
    [DataRow(PngColorType.Rgba, 8, "8-bit RGBA (RGBA)")]
    [DataRow(PngColorType.GrayscaleAlpha, 16, "16-bit grayscale with alpha (LA)")]
    public void ReadLabelRowRefusesMultiChannelImages(PngColorType type, int depth, string found)
    {
        var path = WriteTemp(TestImage.Random(3, 2, type, depth, 1));
        using var reader = PngRowReader.Open(path);
        var e = Assert.ThrowsExactly<DataFormatException>(() => reader.ReadLabelRow(new int[3]));
        StringAssert.Contains(e.Message, found);
        StringAssert.Contains(e.Message, path);
    }

    [TestMethod]
    public void ShortSpansAndReadsPastTheLastRowAreRefused()
    {
        var path = WriteTemp(TestImage.Random(4, 2, PngColorType.Rgb, 8, 1));
        using var reader = PngRowReader.Open(path);
        Assert.ThrowsExactly<ArgumentException>(() => reader.ReadIdRow(new uint[3]));
        Assert.AreEqual(0, reader.RowsRead);
        reader.ReadIdRow(new uint[4]);
        reader.ReadIdRow(new uint[9]);
        Assert.AreEqual(2, reader.RowsRead);
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => reader.ReadIdRow(new uint[4]));
        StringAssert.Contains(e.Message, path);

        var labels = WriteTemp(TestImage.Random(4, 1, PngColorType.Grayscale, 2, 1));
        using var labelReader = PngRowReader.Open(labels);
        Assert.ThrowsExactly<ArgumentException>(() => labelReader.ReadLabelRow(new int[3]));
    }

    [TestMethod]
    public void StreamIsLeftOpenOnlyWhenAsked()
    {
        var bytes = PngTestFiles.Encode(TestImage.Random(2, 2, PngColorType.Rgb, 8, 1));
        var open = new MemoryStream(bytes);
        using (var r = PngRowReader.Open(open, "kept", leaveOpen: true))
        {
            Assert.AreEqual("kept", r.Path);
        }
        Assert.IsTrue(open.CanRead);
        var closed = new MemoryStream(bytes);
        using (PngRowReader.Open(closed, "closed")) { }
        Assert.IsFalse(closed.CanRead);
        var disposed = PngRowReader.Open(new MemoryStream(bytes), "disposed");
        disposed.Dispose();
        Assert.ThrowsExactly<ObjectDisposedException>(() => disposed.ReadIdRow(new uint[2]));
    }

    // ------------------------------------------------------------------ helpers

    internal static string WriteTemp(TestImage image, bool interlaced = false, string name = "image.png")
    {
        var path = Path.Combine(TestPaths.NewTempFolder(), name);
        File.WriteAllBytes(path, PngTestFiles.Encode(image, interlaced));
        return path;
    }

    /// <summary>Decodes <paramref name="bytes"/> and checks every sample, through every row API that applies to the mode.</summary>
    internal static void AssertDecodes(TestImage image, bool interlaced, byte[] bytes, string what)
    {
        using (var reader = PngRowReader.Open(new MemoryStream(bytes), what))
        {
            Assert.AreEqual((image.Width, image.Height, image.BitDepth, image.ColorType, interlaced),
                (reader.Width, reader.Height, reader.BitDepth, reader.ColorType, reader.Interlaced), what);
            Assert.AreEqual(image.RowBytes, reader.PackedRowBytes, what);
            var packed = new byte[image.RowBytes];
            for (var y = 0; y < image.Height; y++)
            {
                reader.ReadPackedRow(packed);
                var expected = image.Samples.AsSpan(y * image.Width * image.Channels, image.Width * image.Channels).ToArray();
                CollectionAssert.AreEqual(expected, image.Unpack(packed), $"{what}: row {y}");
            }
            Assert.AreEqual(image.Height, reader.RowsRead);
        }

        using (var reader = PngRowReader.Open(new MemoryStream(bytes), what))
        {
            if (image.BitDepth == 8 && image.ColorType is PngColorType.Rgb or PngColorType.Rgba)
            {
                var ids = new uint[image.Width];
                for (var y = 0; y < image.Height; y++)
                {
                    reader.ReadIdRow(ids);
                    for (var x = 0; x < image.Width; x++)
                    {
                        var id = (uint)(image.Sample(x, y, 0) | image.Sample(x, y, 1) << 8 | image.Sample(x, y, 2) << 16);
                        Assert.AreEqual(id, ids[x], $"{what}: id at ({x}, {y})");
                    }
                }
            }
            else if (image.ColorType is PngColorType.Grayscale or PngColorType.Palette)
            {
                var labels = new int[image.Width];
                for (var y = 0; y < image.Height; y++)
                {
                    reader.ReadLabelRow(labels);
                    for (var x = 0; x < image.Width; x++) Assert.AreEqual(image.Sample(x, y, 0), labels[x], $"{what}: label at ({x}, {y})");
                }
            }
        }
    }
}
