using Microsoft.ML.Mask2Former.Evaluation;
using Microsoft.ML.Mask2Former.Formats;

namespace Microsoft.ML.Mask2Former.Tests.Evaluation.Instances;

/// <summary>Bad instance ground truth or results: a clear error naming the file, the image and the item; CLI exit code 2.</summary>
[TestClass]
public sealed class InstanceBadInputTests
{
    private const string Gt = """
        {"images": [{"id": 7, "width": 20, "height": 10, "file_name": "7.jpg"}],
         "categories": [{"id": 1, "name": "a"}],
         "annotations": [{"id": 3, "image_id": 7, "category_id": 1, "iscrowd": 0, "area": 16, "bbox": [1, 1, 4, 4],
                          "segmentation": {"size": [10, 20], "counts": [11, 4, 6, 4, 6, 4, 6, 4, 155]}}]}
        """;

    private static string Write(string folder, string name, string text)
    {
        var path = Path.Combine(folder, name);
        File.WriteAllText(path, text);
        return path;
    }

    private static (int Code, string Error) Cli(string gt, string results, string type = "segm")
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = global::Mask2Former.Cli.Program.Run(["eval", "instances", "--gt", gt, "--results", results, "--iou-type", type], stdout, stderr);
        return (code, stderr.ToString());
    }

    [TestMethod]
    public void TheValidCaseScoresOne()
    {
        var dir = TestPaths.NewTempFolder();
        var gt = Write(dir, "gt.json", Gt);
        var results = Write(dir, "r.json", """[{"image_id": 7, "category_id": 1, "score": 0.5, "segmentation": {"size": [10, 20], "counts": [11, 4, 6, 4, 6, 4, 6, 4, 155]}}]""");
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var json = Path.Combine(dir, "out.json");
        Assert.AreEqual(0, global::Mask2Former.Cli.Program.Run(["eval", "instances", "--gt", gt, "--results", results, "--iou-type", "segm", "--json", json], stdout, stderr), stderr.ToString());
        StringAssert.StartsWith(stdout.ToString(), " Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 1.000\n");
        StringAssert.Contains(File.ReadAllText(json), "\"coco_segm\"");
    }

    [TestMethod]
    [DataRow("""[{"image_id": 8, "category_id": 1, "score": 0.5, "bbox": [1, 1, 4, 4]}]""", "not in the ground truth", "image id 8")]
    [DataRow("""[{"image_id": 7, "category_id": 9, "score": 0.5, "bbox": [1, 1, 4, 4]}]""", "category 9", "image id 7")]
    [DataRow("""[{"image_id": 7, "category_id": 1, "score": 0.5, "segmentation": {"size": [10, 21], "counts": "0"}}]""", "counts sum to", "results[0]")]
    [DataRow("""[{"image_id": 7, "category_id": 1, "score": 0.5, "segmentation": {"size": [5, 40], "counts": [200]}}]""", "differs from", "image id 7")]
    [DataRow("""[{"image_id": 7, "category_id": 1, "score": 0.5, "segmentation": {"size": [10, 20], "counts": "a b"}}]""", "character", "results[0]")]
    [DataRow("""[{"image_id": 7, "category_id": 1, "score": 0.5, "bbox": [1, 1, 4, 4]}, {"image_id": 7, "category_id": 1, "score": 0.4, "segmentation": {"size": [10, 20], "counts": [200]}}]""", "no 'bbox'", "results[1]")]
    [DataRow("""[{"image_id": 7, "category_id": 1, "bbox": [1, 1, 4, 4]}]""", "missing field 'score'", "results[0]")]
    [DataRow("""[{"image_id": 7, "category_id": 1, "score": 0.5}]""", "needs a 'bbox' or a 'segmentation'", "results[0]")]
    [DataRow("""{"image_id": 7}""", "JSON array", "r.json")]
    [DataRow("""[{"image_id": 7, "category_id": 1, "score": 0.5, "bbox": [1, 1, 4""", "malformed JSON", "r.json")]
    public void BadResultsNameTheFileAndItem(string results, string reason, string where)
    {
        var dir = TestPaths.NewTempFolder();
        var gt = Write(dir, "gt.json", Gt);
        var r = Write(dir, "r.json", results);
        var e = Assert.ThrowsExactly<DataFormatException>(() => InstanceEvaluator.EvaluateFiles(gt, r, InstanceIouType.Segmentation));
        StringAssert.Contains(e.Message, reason);
        StringAssert.Contains(e.Message, where);
        StringAssert.Contains(e.Message, "r.json");
        var (code, error) = Cli(gt, r);
        Assert.AreEqual(2, code, error);
        StringAssert.Contains(error, reason);
    }

    [TestMethod]
    [DataRow("\"id\": 3, \"image_id\": 7", "\"id\": 3, \"image_id\": 70", "not in 'images'", "image id 70")]
    [DataRow("\"category_id\": 1, \"iscrowd\"", "\"category_id\": 4, \"iscrowd\"", "category 4", "annotation id 3")]
    [DataRow("\"counts\": [11, 4, 6, 4, 6, 4, 6, 4, 155]", "\"counts\": [11, 4, 6, 4, 6, 4, 6, 4, 15]", "counts sum to", "annotation id 3")]
    [DataRow("\"size\": [10, 20]", "\"size\": [20, 10]", "differs from its image", "annotation id 3")]
    [DataRow("\"area\": 16,", "", "missing field 'area'", "annotations[0]")]
    [DataRow("\"width\": 20", "\"width\": 0", "width", "image id 7")]
    [DataRow("\"id\": 1, \"name\"", "\"id\": \"x\", \"name\"", "must be a number", "categories[0]")]
    public void BadGroundTruthNamesTheFileAndItem(string find, string replace, string reason, string where)
    {
        var dir = TestPaths.NewTempFolder();
        Assert.Contains(find, Gt);
        var gt = Write(dir, "gt.json", Gt.Replace(find, replace));
        var r = Write(dir, "r.json", """[{"image_id": 7, "category_id": 1, "score": 0.5, "bbox": [1, 1, 4, 4]}]""");
        var e = Assert.ThrowsExactly<DataFormatException>(() => InstanceEvaluator.EvaluateFiles(gt, r, InstanceIouType.BoundingBox));
        StringAssert.Contains(e.Message, reason);
        StringAssert.Contains(e.Message, where);
        StringAssert.Contains(e.Message, "gt.json");
        Assert.AreEqual(2, Cli(gt, r, "bbox").Code);
    }

    [TestMethod]
    public void DuplicateAnnotationIdsAreRefused()
    {
        var dir = TestPaths.NewTempFolder();
        var twice = Gt.Replace("}}]}", "}}, {\"id\": 3, \"image_id\": 7, \"category_id\": 1, \"iscrowd\": 0, \"area\": 4, \"bbox\": [9, 1, 2, 2]}]}");
        var gt = Write(dir, "gt.json", twice);
        var e = Assert.ThrowsExactly<DataFormatException>(() => CocoInstancesDataset.Load(gt));
        StringAssert.Contains(e.Message, "appears twice");
        StringAssert.Contains(e.Message, "annotation id 3");
        Assert.AreEqual(3L, e.ItemId);
        Assert.AreEqual(DataFormatItemKind.Annotation, e.ItemKind);
    }

    [TestMethod]
    public void MissingFilesAndUnknownIouTypesExitWithTwo()
    {
        var dir = TestPaths.NewTempFolder();
        var gt = Write(dir, "gt.json", Gt);
        Assert.AreEqual(2, Cli(gt, Path.Combine(dir, "missing.json")).Code);
        Assert.AreEqual(2, Cli(gt, gt, "keypoints").Code);
        Assert.ThrowsExactly<FileNotFoundException>(() => InstanceEvaluator.EvaluateFiles(Path.Combine(dir, "nope.json"), gt, InstanceIouType.BoundingBox));
    }
}
