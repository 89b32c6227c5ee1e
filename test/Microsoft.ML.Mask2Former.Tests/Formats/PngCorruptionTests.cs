using System.Buffers.Binary;
using Microsoft.ML.Mask2Former.Formats;

namespace Microsoft.ML.Mask2Former.Tests.Formats;

/// <summary>
/// Broken PNGs give a <see cref="DataFormatException"/> that names the file and says what is
/// wrong; never an index error, a crash, a hang, or silently wrong pixels.
/// </summary>
[TestClass]
public sealed class PngCorruptionTests
{
    private static readonly TestImage Image = TestImage.Random(6, 5, PngColorType.Rgb, 8, 42);

    private static byte[] Scanlines => PngTestFiles.Scanlines(Image, false, r => r % 5);

    /// <summary>Writes <paramref name="bytes"/> to a file, reads it completely and returns the failure.</summary>
    private static DataFormatException Fails(byte[] bytes, string? expected = null)
    {
        var path = Path.Combine(TestPaths.NewTempFolder(), "broken.png");
        File.WriteAllBytes(path, bytes);
        var e = Assert.ThrowsExactly<DataFormatException>(() => ReadAll(path));
        StringAssert.Contains(e.Message, path);
        Assert.AreEqual(path, e.FilePath);
        if (expected is not null) StringAssert.Contains(e.Message, expected);
        return e;
    }

    private static void ReadAll(string path)
    {
        using var reader = PngRowReader.Open(path);
        var row = new byte[reader.PackedRowBytes];
        for (var y = 0; y < reader.Height; y++) reader.ReadPackedRow(row);
    }

    private static byte[] WithIdat(byte[] zlibData, byte[]? ihdr = null) =>
        PngTestFiles.Assemble(ihdr ?? PngTestFiles.Ihdr(Image.Width, Image.Height, 8, 2), PngTestFiles.Chunk("IDAT", zlibData), PngTestFiles.Iend());

    [TestMethod]
    public void TheUnbrokenFileDecodes() => PngTests.AssertDecodes(Image, false, WithIdat(PngTestFiles.Zlib(Scanlines)), "valid");

    [TestMethod]
    public void EmptyFileAndBadSignature()
    {
        Fails([], "empty");
        Fails("this is not a PNG"u8.ToArray(), "signature");
        var valid = WithIdat(PngTestFiles.Zlib(Scanlines));
        valid[1] = (byte)'J';
        Fails(valid, "signature");
    }

    [TestMethod]
    public void EveryTruncationFails()
    {
        var valid = WithIdat(PngTestFiles.Zlib(Scanlines));
        for (var length = 0; length < valid.Length; length++)
        {
            var e = Fails(valid[..length]);
            if (length >= valid.Length - 12) StringAssert.Contains(e.Message, "IEND", $"cut at {length}");
        }
    }

    [TestMethod]
    public void IendMissing()
    {
        var noIend = PngTestFiles.Assemble(PngTestFiles.Ihdr(Image.Width, Image.Height, 8, 2), PngTestFiles.Chunk("IDAT", PngTestFiles.Zlib(Scanlines)));
        Fails(noIend, "without an IEND");
    }

    [TestMethod]
    public void EveryChunkChecksItsCrc()
    {
        var chunks = new[]
        {
            PngTestFiles.Ihdr(Image.Width, Image.Height, 8, 2),
            PngTestFiles.Chunk("tEXt", "a\0b"u8),
            PngTestFiles.Chunk("IDAT", PngTestFiles.Zlib(Scanlines)),
            PngTestFiles.Iend(),
        };
        for (var c = 0; c < chunks.Length; c++)
        {
            // The first and last data bytes (when there are any) and the CRC itself.
            var offsets = chunks[c].Length > 12 ? new[] { 8, chunks[c].Length - 5, chunks[c].Length - 1 } : new[] { chunks[c].Length - 1 };
            foreach (var offset in offsets)
            {
                var broken = chunks.Select(x => (byte[])x.Clone()).ToArray();
                broken[c][offset] ^= 0x01;
                var e = Fails(PngTestFiles.Assemble(broken));
                StringAssert.Contains(e.Message, "CRC", $"chunk {c} byte {offset}");
            }
        }
    }

    [TestMethod]
    public void CorruptZlibDataFails()
    {
        var data = PngTestFiles.Zlib(Scanlines);
        var header = (byte[])data.Clone();
        header[0] = 0x79; // not a deflate method / window byte pair
        Fails(WithIdat(header), "compressed image data");

        var adler = (byte[])data.Clone();
        adler[^1] ^= 0xFF;
        Fails(WithIdat(adler), "compressed image data");

        Fails(WithIdat([0x78, 0x9C, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]), "compressed image data");
    }

    [TestMethod]
    public void TooLittleAndTooMuchImageData()
    {
        var rows = Scanlines;
        Fails(WithIdat(PngTestFiles.Zlib(rows.AsSpan(0, rows.Length - 1))), "too little image data");
        Fails(WithIdat(PngTestFiles.Zlib(rows.AsSpan(0, rows.Length / 2))), "too little image data");
        Fails(WithIdat(PngTestFiles.Zlib([])), "too little image data");
        Fails(WithIdat(PngTestFiles.Zlib([.. rows, 0])), "more image data");
        // The zlib stream is cut before its end (a valid prefix, but no final block and no Adler-32).
        var full = PngTestFiles.Zlib(rows);
        Fails(WithIdat(full[..^4]));
    }

    [TestMethod]
    public void InvalidFilterType()
    {
        var rows = Scanlines;
        rows[2 * (Image.RowBytes + 1)] = 5; // the filter byte of row 2
        var e = Fails(WithIdat(PngTestFiles.Zlib(rows)), "filter type 5");
        StringAssert.Contains(e.Message, "row 2");
    }

    [TestMethod]
    public void AFailedReaderKeepsFailing()
    {
        var rows = Scanlines;
        rows[1 * (Image.RowBytes + 1)] = 7;
        using var reader = PngRowReader.Open(new MemoryStream(WithIdat(PngTestFiles.Zlib(rows))), "sticky");
        var ids = new uint[Image.Width];
        reader.ReadIdRow(ids);
        var first = Assert.ThrowsExactly<DataFormatException>(() => reader.ReadIdRow(ids));
        var second = Assert.ThrowsExactly<DataFormatException>(() => reader.ReadIdRow(ids));
        Assert.AreEqual(first.Reason, second.Reason);
        StringAssert.Contains(second.Message, "sticky");
        Assert.AreEqual(1, reader.RowsRead);
    }

    [TestMethod]
    [DataRow(0, 5, 8, 2, 0, 0, 0, "size")]
    [DataRow(6, 0, 8, 2, 0, 0, 0, "size")]
    [DataRow(6, 5, 4, 2, 0, 0, 0, "bit depth 4")]
    [DataRow(6, 5, 16, 3, 0, 0, 0, "bit depth 16")]
    [DataRow(6, 5, 3, 0, 0, 0, 0, "bit depth 3")]
    [DataRow(6, 5, 8, 1, 0, 0, 0, "colour type 1")]
    [DataRow(6, 5, 8, 7, 0, 0, 0, "colour type 7")]
    [DataRow(6, 5, 8, 2, 2, 0, 0, "interlace method 2")]
    [DataRow(6, 5, 8, 2, 0, 1, 0, "compression method 1")]
    [DataRow(6, 5, 8, 2, 0, 0, 1, "filter method 1")]
    [DataRow(1 << 16, 1 << 13, 8, 2, 0, 0, 0, "exceeds the limit")]
    [DataRow(-1, 1, 8, 2, 0, 0, 0, "size")]
    public void InvalidHeader(int w, int h, int depth, int colorType, int interlace, int compression, int filter, string expected) =>
        Fails(WithIdat(PngTestFiles.Zlib(Scanlines), PngTestFiles.Ihdr(w, h, depth, colorType, interlace, compression, filter)), expected);

    [TestMethod]
    public void ChunkOrderAndStructure()
    {
        var ihdr = PngTestFiles.Ihdr(Image.Width, Image.Height, 8, 2);
        var idat = PngTestFiles.Chunk("IDAT", PngTestFiles.Zlib(Scanlines));
        var iend = PngTestFiles.Iend();
        Fails(PngTestFiles.Assemble(PngTestFiles.Chunk("tEXt", "a\0b"u8), ihdr, idat, iend), "must start with IHDR");
        Fails(PngTestFiles.Assemble(ihdr, ihdr, idat, iend), "second IHDR");
        Fails(PngTestFiles.Assemble(ihdr, iend), "no image data");
        Fails(PngTestFiles.Assemble(ihdr, PngTestFiles.Chunk("ABCD", [1, 2]), idat, iend), "unknown critical chunk ABCD");
        Fails(PngTestFiles.Assemble(ihdr, idat, PngTestFiles.Chunk("ABCD", []), iend), "unknown critical chunk ABCD");
        Fails(PngTestFiles.Assemble(ihdr, idat, PngTestFiles.Chunk("IEND", [0])), "IEND");
        Fails(PngTestFiles.Assemble(PngTestFiles.Chunk("IHDR", new byte[12]), idat, iend), "13");

        // The image data split in two IDAT runs with another chunk between them.
        var data = PngTestFiles.Zlib(Scanlines);
        Fails(PngTestFiles.Assemble(ihdr, PngTestFiles.Chunk("IDAT", data[..10]), PngTestFiles.Chunk("tEXt", "a\0b"u8),
            PngTestFiles.Chunk("IDAT", data[10..]), iend));

        // A chunk length beyond what a PNG allows, and one that runs past the end of the file.
        var huge = PngTestFiles.Chunk("tEXt", "a\0b"u8);
        BinaryPrimitives.WriteUInt32BigEndian(huge, 0xFFFFFFF0);
        Fails(PngTestFiles.Assemble(ihdr, huge, idat, iend), "claims");
        var overlong = PngTestFiles.Chunk("tEXt", "a\0b"u8);
        BinaryPrimitives.WriteUInt32BigEndian(overlong, 0x7FFFFFF0);
        Fails(PngTestFiles.Assemble(ihdr, overlong, idat, iend), "truncated");

        // A chunk type that is not four letters.
        Fails(PngTestFiles.Assemble(ihdr, PngTestFiles.Chunk("te1t", []), idat, iend), "chunk type");
    }

    [TestMethod]
    public void PaletteRules()
    {
        var image = TestImage.Random(4, 3, PngColorType.Palette, 2, 7);
        var data = PngTestFiles.Zlib(PngTestFiles.Scanlines(image, false, r => r % 5));
        var ihdr = PngTestFiles.Ihdr(4, 3, 2, 3);
        var idat = PngTestFiles.Chunk("IDAT", data);
        var iend = PngTestFiles.Iend();
        var plte = PngTestFiles.Chunk("PLTE", PngTestFiles.DefaultPalette(2));
        PngTests.AssertDecodes(image, false, PngTestFiles.Assemble(ihdr, plte, idat, iend), "valid palette image");
        Fails(PngTestFiles.Assemble(ihdr, idat, iend), "without a PLTE");
        Fails(PngTestFiles.Assemble(ihdr, plte, plte, idat, iend), "second PLTE");
        Fails(PngTestFiles.Assemble(ihdr, PngTestFiles.Chunk("PLTE", new byte[7]), idat, iend), "1 to 256");
        Fails(PngTestFiles.Assemble(ihdr, PngTestFiles.Chunk("PLTE", new byte[15]), idat, iend), "more than a 2-bit index");
        Fails(PngTestFiles.Assemble(ihdr, plte, idat, plte, iend), "after the image data");

        var gray = TestImage.Random(4, 3, PngColorType.Grayscale, 8, 7);
        var grayData = PngTestFiles.Chunk("IDAT", PngTestFiles.Zlib(PngTestFiles.Scanlines(gray, false, r => r % 5)));
        Fails(PngTestFiles.Assemble(PngTestFiles.Ihdr(4, 3, 8, 0), plte, grayData, iend), "PLTE chunk in a 8-bit grayscale");
    }

    [TestMethod]
    public void InterlacedFilesFailTheSameWay()
    {
        var image = TestImage.Random(9, 9, PngColorType.Rgba, 8, 3);
        var rows = PngTestFiles.Scanlines(image, true, r => r % 5);
        var ihdr = PngTestFiles.Ihdr(9, 9, 8, 6, interlace: 1);
        Fails(PngTestFiles.Assemble(ihdr, PngTestFiles.Chunk("IDAT", PngTestFiles.Zlib(rows.AsSpan(0, rows.Length - 3))), PngTestFiles.Iend()),
            "too little image data");
        Fails(PngTestFiles.Assemble(ihdr, PngTestFiles.Chunk("IDAT", PngTestFiles.Zlib([.. rows, 1, 2])), PngTestFiles.Iend()), "more image data");
        var badFilter = (byte[])rows.Clone();
        badFilter[0] = 9;
        Fails(PngTestFiles.Assemble(ihdr, PngTestFiles.Chunk("IDAT", PngTestFiles.Zlib(badFilter)), PngTestFiles.Iend()), "filter type 9");
    }

    /// <summary>
    /// Seeded random damage (bytes overwritten, with and without the CRCs repaired so the damage
    /// reaches the zlib and filter layers): every outcome is a clean decode or a DataFormatException.
    /// </summary>
    [TestMethod]
    public void RandomDamageNeverEscapesAsAnotherException()
    {
        var rng = new Random(2024);
        var sources = new[]
        {
            PngTestFiles.Encode(TestImage.Random(13, 7, PngColorType.Rgb, 8, 1)),
            PngTestFiles.Encode(TestImage.Random(13, 7, PngColorType.Palette, 4, 2), interlaced: true),
            PngTestFiles.Encode(TestImage.Random(5, 9, PngColorType.Grayscale, 16, 3), idatSize: 17),
        };
        var failures = 0;
        for (var trial = 0; trial < 3000; trial++)
        {
            var bytes = (byte[])sources[trial % sources.Length].Clone();
            var hits = rng.Next(1, 4);
            for (var k = 0; k < hits; k++) bytes[rng.Next(8, bytes.Length)] = (byte)rng.Next(256);
            if (trial % 2 == 0) RepairCrcs(bytes);
            try
            {
                using var reader = PngRowReader.Open(new MemoryStream(bytes), "fuzz");
                var row = new byte[reader.PackedRowBytes];
                for (var y = 0; y < reader.Height; y++) reader.ReadPackedRow(row);
            }
            catch (DataFormatException e)
            {
                StringAssert.Contains(e.Message, "fuzz");
                failures++;
            }
        }
        Assert.IsTrue(failures > 1000, $"only {failures} damaged files were refused");
    }

    private static void RepairCrcs(byte[] bytes)
    {
        var p = 8;
        while (p + 12 <= bytes.Length)
        {
            var length = BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(p));
            if (length > bytes.Length - p - 12) return;
            var crc = PngTestFiles.Crc(bytes.AsSpan(p + 4, 4 + (int)length));
            BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(p + 8 + (int)length), crc);
            p += 12 + (int)length;
        }
    }
}
