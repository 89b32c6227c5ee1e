using Microsoft.ML.Mask2Former.Evaluation;
using Microsoft.ML.Mask2Former.Formats;

namespace Microsoft.ML.Mask2Former.Tests.Evaluation;

/// <summary>
/// Every kind of bad input gives a DataFormatException (or a CLI exit code 2) naming the file,
/// the image id and the segment id, and never a crash or a silently wrong number.
/// </summary>
[TestClass]
public sealed class PanopticBadInputTests
{
    private const int W = 4, H = 3;

    private static readonly CocoPanopticCategory[] Categories = [new(1, "thing", true), new(2, "stuff", false)];

    /// <summary>A valid two-image case on disk; tests break one thing in it.</summary>
    private sealed class Case
    {
        public Case()
        {
            Dir = TestPaths.NewTempFolder();
            Directory.CreateDirectory(GtFolder);
            Directory.CreateDirectory(PredFolder);
            GtMaps = [[5, 5, 9, 9, 5, 5, 9, 9, 0, 0, 9, 9], [7, 7, 7, 7, 7, 7, 7, 7, 0, 0, 0, 0]];
            PredMaps = [[6, 6, 8, 8, 6, 6, 8, 8, 6, 0, 8, 8], [3, 3, 3, 3, 3, 3, 3, 3, 3, 0, 0, 0]];
            GtSegments = [[new(5, 1, Area: 4), new(9, 2, Area: 6)], [new(7, 2, Area: 8)]];
            PredSegments = [[new(6, 1), new(8, 2)], [new(3, 2)]];
        }

        public string Dir { get; }
        public string GtJson => Path.Combine(Dir, "gt.json");
        public string PredJson => Path.Combine(Dir, "pred.json");
        public string GtFolder => Path.Combine(Dir, "gt");
        public string PredFolder => Path.Combine(Dir, "pred");
        public uint[][] GtMaps { get; }
        public uint[][] PredMaps { get; }
        public CocoPanopticSegment[][] GtSegments { get; set; }
        public CocoPanopticSegment[][] PredSegments { get; set; }
        public string[] PredImageIds { get; set; } = ["1", "2"];

        public string GtPng(int i) => Path.Combine(GtFolder, $"{i + 1}.png");
        public string PredPng(int i) => Path.Combine(PredFolder, $"{i + 1}.png");

        public Case Write()
        {
            for (var i = 0; i < 2; i++)
            {
                Png.WriteIds(GtPng(i), GtMaps[i], W, H);
                Png.WriteIds(PredPng(i), PredMaps[i], W, H);
            }
            var images = new[] { new CocoImage("1", "1.jpg", W, H), new CocoImage("2", "2.jpg", W, H) };
            new CocoPanopticDataset(images,
                [new("1", "1.png", GtSegments[0]), new("2", "2.png", GtSegments[1])], Categories).Save(GtJson);
            new CocoPanopticDataset([],
                [new(PredImageIds[0], "1.png", PredSegments[0]), new(PredImageIds[1], "2.png", PredSegments[1])], []).Save(PredJson);
            return this;
        }

        public PanopticSegmentationMetrics Evaluate() => PanopticEvaluator.EvaluateFiles(GtJson, GtFolder, PredJson, PredFolder);

        public (int Code, string Out, string Err) Cli()
        {
            var stdout = new StringWriter();
            var stderr = new StringWriter();
            var code = global::Mask2Former.Cli.Program.Run(
                ["eval", "panoptic", "--gt-json", GtJson, "--gt-folder", GtFolder, "--pred-json", PredJson, "--pred-folder", PredFolder],
                stdout, stderr);
            return (code, stdout.ToString(), stderr.ToString());
        }
    }

    private static DataFormatException Fails(Case c)
    {
        var e = Assert.ThrowsExactly<DataFormatException>(() => c.Evaluate());
        var (code, _, err) = c.Cli();
        Assert.AreEqual(2, code, "CLI exit code");
        Assert.AreEqual(1, err.Trim().Split('\n').Length, $"one line on stderr, got: {err}");
        StringAssert.StartsWith(err, "m2f: error: ");
        return e;
    }

    [TestMethod]
    public void TheValidCaseEvaluates()
    {
        var c = new Case().Write();
        var m = c.Evaluate();
        // Image 1: gt 5 (thing) vs pred 6: inter 4, union 5 + 4 - 4 - 1 (pred on void) = 4 -> IoU 1.
        //          gt 9 (stuff, 6 px) vs pred 8 (6 px): IoU 1. Image 2: gt 7 (8 px) vs pred 3 (9 px, 1 on void): IoU 1.
        Assert.AreEqual(new PanopticCounts(1, 0, 0, 1.0), m.PerClass[0].Counts);
        Assert.AreEqual(new PanopticCounts(2, 0, 0, 2.0), m.PerClass[1].Counts);
        var (code, output, _) = c.Cli();
        Assert.AreEqual(0, code);
        StringAssert.Contains(output, "All       | 100.0  100.0  100.0     2");
    }

    [TestMethod]
    public void MissingPng()
    {
        var c = new Case().Write();
        File.Delete(c.PredPng(1));
        var e = Fails(c);
        Assert.AreEqual(c.PredPng(1), e.FilePath);
        Assert.AreEqual("2", e.ImageId);
    }

    [TestMethod]
    public void TruncatedPng()
    {
        var c = new Case().Write();
        var bytes = File.ReadAllBytes(c.GtPng(0));
        File.WriteAllBytes(c.GtPng(0), bytes[..(bytes.Length / 2)]);
        var e = Fails(c);
        StringAssert.Contains(e.Message, c.GtPng(0));
        Assert.AreEqual("1", e.ImageId);
    }

    [TestMethod]
    public void NotAPng()
    {
        var c = new Case().Write();
        File.WriteAllText(c.GtPng(1), "this is not a PNG");
        var e = Fails(c);
        StringAssert.Contains(e.Message, c.GtPng(1));
    }

    [TestMethod]
    [DataRow(PngColorType.Grayscale, "grayscale")]
    [DataRow(PngColorType.Palette, "palette")]
    public void SingleChannelPngIsRefused(PngColorType type, string word)
    {
        var c = new Case().Write();
        using (var f = File.Create(c.PredPng(0)))
            Png.Write(f, W, H, type, 8, new byte[W * H], type == PngColorType.Palette ? new byte[3 * 16] : default);
        var e = Fails(c);
        StringAssert.Contains(e.Message, word);
        StringAssert.Contains(e.Message, c.PredPng(0));
    }

    [TestMethod]
    public void RgbaPngIsReadWithAlphaIgnored()
    {
        var c = new Case().Write();
        // Rewrite prediction 1 as RGBA with arbitrary alpha: results must not change.
        var rgba = new byte[W * H * 4];
        for (var i = 0; i < W * H; i++)
        {
            var id = c.PredMaps[0][i];
            rgba[4 * i] = (byte)id;
            rgba[4 * i + 1] = (byte)(id >> 8);
            rgba[4 * i + 2] = (byte)(id >> 16);
            rgba[4 * i + 3] = (byte)(i * 37);
        }
        using (var f = File.Create(c.PredPng(0))) Png.Write(f, W, H, PngColorType.Rgba, 8, rgba);
        Assert.AreEqual(new PanopticCounts(1, 0, 0, 1.0), c.Evaluate().PerClass[0].Counts);
    }

    [TestMethod]
    public void MalformedJson()
    {
        var c = new Case().Write();
        File.WriteAllText(c.PredJson, "{\"annotations\": [ {\"image_id\": 1, ");
        var e = Fails(c);
        Assert.AreEqual(c.PredJson, e.FilePath);
        StringAssert.Contains(e.Message, "malformed JSON");
    }

    [TestMethod]
    public void MistypedJsonField()
    {
        var c = new Case().Write();
        File.WriteAllText(c.PredJson, "{\"annotations\": [ {\"image_id\": 1, \"file_name\": 5, \"segments_info\": []} ]}");
        var e = Fails(c);
        StringAssert.Contains(e.Message, "file_name");
        Assert.AreEqual("1", e.ImageId);
    }

    [TestMethod]
    public void PredictionPngIdMissingFromJson()
    {
        var c = new Case();
        c.PredSegments = [[new(6, 1)], [new(3, 2)]];
        c.Write();
        var e = Fails(c);
        Assert.AreEqual(8L, e.ItemId);
        Assert.AreEqual(DataFormatItemKind.Segment, e.ItemKind);
        Assert.AreEqual("1", e.ImageId);
        Assert.AreEqual(c.PredPng(0), e.FilePath);
    }

    [TestMethod]
    public void PredictionJsonIdMissingFromPng()
    {
        var c = new Case();
        c.PredSegments = [[new(6, 1), new(8, 2), new(77, 1)], [new(3, 2)]];
        c.Write();
        var e = Fails(c);
        Assert.AreEqual(77L, e.ItemId);
        Assert.AreEqual(c.PredPng(0), e.FilePath);
    }

    [TestMethod]
    public void GroundTruthPngIdMissingFromJson()
    {
        var c = new Case();
        c.GtSegments = [[new(5, 1, Area: 4)], [new(7, 2, Area: 8)]];
        c.Write();
        var e = Fails(c);
        Assert.AreEqual(9L, e.ItemId);
        Assert.AreEqual(c.GtPng(0), e.FilePath);
    }

    [TestMethod]
    public void GroundTruthJsonIdMissingFromPng()
    {
        var c = new Case();
        c.GtSegments = [[new(5, 1, Area: 4), new(9, 2, Area: 6)], [new(7, 2, Area: 8), new(70, 2, Area: 3)]];
        c.Write();
        var e = Fails(c);
        Assert.AreEqual(70L, e.ItemId);
        Assert.AreEqual("2", e.ImageId);
    }

    [TestMethod]
    public void UnknownPredictedCategory()
    {
        var c = new Case();
        c.PredSegments = [[new(6, 1), new(8, 42)], [new(3, 2)]];
        c.Write();
        var e = Fails(c);
        Assert.AreEqual(8L, e.ItemId);
        StringAssert.Contains(e.Message, "42");
    }

    [TestMethod]
    public void UnknownGroundTruthCategory()
    {
        var c = new Case();
        c.GtSegments = [[new(5, 1, Area: 4), new(9, 43, Area: 6)], [new(7, 2, Area: 8)]];
        var e = Assert.ThrowsExactly<DataFormatException>(() => c.Write());
        Assert.AreEqual(9L, e.ItemId);
        StringAssert.Contains(e.Message, "43");
    }

    [TestMethod]
    public void DuplicateSegmentIds()
    {
        var c = new Case().Write();
        File.WriteAllText(c.PredJson, """
            {"annotations": [
              {"image_id": 1, "file_name": "1.png", "segments_info": [{"id": 6, "category_id": 1}, {"id": 8, "category_id": 2}]},
              {"image_id": 2, "file_name": "2.png", "segments_info": [{"id": 3, "category_id": 2}, {"id": 3, "category_id": 1}]}]}
            """);
        var e = Fails(c);
        Assert.AreEqual(3L, e.ItemId);
        Assert.AreEqual("2", e.ImageId);
        Assert.AreEqual(c.PredJson, e.FilePath);
    }

    [TestMethod]
    public void GroundTruthImageWithoutPrediction()
    {
        var c = new Case { PredImageIds = ["1", "3"] }.Write();
        var e = Fails(c);
        Assert.AreEqual("2", e.ImageId);
        StringAssert.Contains(e.Message, "no prediction");
    }

    [TestMethod]
    public void SizeMismatch()
    {
        var c = new Case().Write();
        Png.WriteIds(c.PredPng(1), new uint[5 * 3], 5, 3);
        var e = Fails(c);
        StringAssert.Contains(e.Message, "size mismatch");
        StringAssert.Contains(e.Message, c.GtPng(1));
        StringAssert.Contains(e.Message, c.PredPng(1));
    }

    [TestMethod]
    public void MissingFolderOrFile()
    {
        var c = new Case().Write();
        Directory.Delete(c.PredFolder, true);
        Assert.ThrowsExactly<DirectoryNotFoundException>(() => c.Evaluate());
        Assert.AreEqual(2, c.Cli().Code);
        File.Delete(c.GtJson);
        Assert.ThrowsExactly<FileNotFoundException>(() => c.Evaluate());
        Assert.AreEqual(2, c.Cli().Code);
    }

    [TestMethod]
    public void CliUsageErrorsExitWithTwo()
    {
        var stderr = new StringWriter();
        Assert.AreEqual(2, global::Mask2Former.Cli.Program.Run(["eval", "panoptic", "--gt-json", "x.json"], new StringWriter(), stderr));
        StringAssert.Contains(stderr.ToString(), "--gt-folder");
    }
}
