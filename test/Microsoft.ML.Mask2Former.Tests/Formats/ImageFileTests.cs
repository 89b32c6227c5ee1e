using Microsoft.ML.Data;
using Microsoft.ML.Mask2Former.Formats;

namespace Microsoft.ML.Mask2Former.Tests.Formats;

/// <summary>
/// <see cref="ImageFile"/> decodes exactly the pixels <c>MLImage.CreateFromFile</c> gives (so every
/// golden result stays), and refuses what it accepts silently: truncated files, bombs, FIFOs.
/// </summary>
[TestClass]
public sealed class ImageFileTests
{
    [TestMethod]
    public void PixelsAreThoseOfMLImageForEveryColourTypeAndJpeg()
    {
        var folder = TestPaths.NewTempFolder();
        var files = new List<string>();
        foreach (var (type, depth) in new[] { (PngColorType.Rgb, 8), (PngColorType.Rgba, 8), (PngColorType.Grayscale, 8), (PngColorType.GrayscaleAlpha, 8), (PngColorType.Palette, 4), (PngColorType.Rgb, 16) })
        {
            var path = Path.Combine(folder, $"{type}-{depth}.png");
            File.WriteAllBytes(path, PngTestFiles.Encode(TestImage.Random(37, 23, type, depth, seed: depth + (int)type)));
            files.Add(path);
        }
        var jpeg = Path.Combine(folder, "photo.jpg");
        using (var source = MLImage.CreateFromFile(files[0])) source.Save(jpeg);
        files.Add(jpeg);

        foreach (var file in files)
        {
            using var expected = MLImage.CreateFromFile(file);
            using var actual = ImageFile.Load(file);
            Assert.AreEqual((expected.Width, expected.Height, expected.PixelFormat), (actual.Width, actual.Height, actual.PixelFormat), file);
            CollectionAssert.AreEqual(expected.Pixels.ToArray(), actual.Pixels.ToArray(), file);
            Assert.AreEqual((expected.Width, expected.Height), ImageFile.ReadSize(file));
        }
    }

    [TestMethod]
    public void ATruncatedFileIsRefusedThoughSkiaSharpDecodesItsFirstRows()
    {
        var folder = TestPaths.NewTempFolder();
        var png = Path.Combine(folder, "cut.png");
        var whole = PngTestFiles.Encode(TestImage.Random(64, 64, PngColorType.Rgb, 8, seed: 3));
        File.WriteAllBytes(png, whole[..(whole.Length / 2)]);
        using (var partial = MLImage.CreateFromFile(png)) Assert.AreEqual(64, partial.Height, "MLImage decodes what is there and fills the rest");
        var e = Assert.ThrowsExactly<DataFormatException>(() => ImageFile.Load(png));
        StringAssert.Contains(e.Message, "truncated");
        Assert.AreEqual(png, e.FilePath);
    }

    [TestMethod]
    public void AHeaderDeclaringTooManyPixelsIsRefusedBeforeDecoding()
    {
        var path = Path.Combine(TestPaths.NewTempFolder(), "bomb.png");
        File.WriteAllBytes(path, PngTestFiles.Assemble(PngTestFiles.Ihdr(9000, 9000, 8, 2), PngTestFiles.Chunk("IDAT", PngTestFiles.Zlib(new byte[100])), PngTestFiles.Iend()));
        var before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.ThrowsExactly<DataFormatException>(() => ImageFile.Load(path, imageId: "7"));
        Assert.IsLessThan(10_000_000L, GC.GetAllocatedBytesForCurrentThread() - before);
        StringAssert.Contains(e.Message, "declares 9000×9000 pixels");
        StringAssert.Contains(e.Message, "image id 7");
    }

    [TestMethod]
    public void AnEmptyFileAFolderAndAMissingFileAreNamed()
    {
        var folder = TestPaths.NewTempFolder();
        var empty = Path.Combine(folder, "empty.png");
        File.WriteAllBytes(empty, []);
        StringAssert.Contains(Assert.ThrowsExactly<DataFormatException>(() => ImageFile.Load(empty)).Message, "empty, or not a regular file");
        StringAssert.Contains(Assert.ThrowsExactly<DataFormatException>(() => ImageFile.Load(folder)).Message, "is a folder");
        Assert.ThrowsExactly<FileNotFoundException>(() => ImageFile.Load(Path.Combine(folder, "missing.png")));
    }

    [TestMethod]
    public void DataSetFileNamesMustStayInsideTheirFolder()
    {
        var folder = TestPaths.NewTempFolder();
        foreach (var name in new[] { "../x.png", "a/../../x.png", "/etc/passwd", "..\\\\x.png", "C:\\\\x.png", "" })
        {
            var json = Path.Combine(folder, "panoptic.json");
            File.WriteAllText(json, $$"""{"annotations": [{"image_id": 1, "file_name": "{{name}}", "segments_info": []}]}""");
            var e = Assert.ThrowsExactly<DataFormatException>(() => CocoPanopticDataset.Load(json), name);
            StringAssert.Contains(e.Message, "must name a file inside the data set's folder", name);
        }
        File.WriteAllText(Path.Combine(folder, "ok.json"), """{"annotations": [{"image_id": 1, "file_name": "sub/x..y.png", "segments_info": []}]}""");
        Assert.AreEqual("sub/x..y.png", CocoPanopticDataset.Load(Path.Combine(folder, "ok.json")).Annotations[0].FileName);
    }
}
