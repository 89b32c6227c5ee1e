using Microsoft.ML.Data;
using Microsoft.ML.Mask2Former.Data;
using Microsoft.ML.Mask2Former.Formats;
using Microsoft.ML.Mask2Former.PostProcessing;
using Microsoft.ML.Mask2Former.Scoring;
using Microsoft.ML.Mask2Former.Tests.PostProcessing;
using static Microsoft.ML.Mask2Former.Tests.Scoring.ScoringTestData;

namespace Microsoft.ML.Mask2Former.Tests.Scoring;

/// <summary>
/// <see cref="PostProcessingMode.MmDetection"/> through <c>SegmentPanoptic</c> /
/// <c>SegmentInstances</c>, <see cref="Mask2FormerPredictor"/> and <c>m2f segment</c>. The model is a
/// constant ONNX model that emits the ViT-Adapter reference's logits of input A (96×160), and the
/// image is 160×96, so the pipeline's geometry is the reference's and its results must be
/// mmdetection's reference maps (../shared/reference/vit_adapter/postprocess.*) turned into segments.
/// </summary>
[TestClass]
public sealed class MmDetectionScoringTests
{
    /// <summary>The reference's classes (0–2 things, 3–4 stuff) with dataset ids that differ from the indices.</summary>
    private static readonly Mask2FormerLabel[] Labels =
    [
        new(11, "person", true), new(12, "car", true), new(13, "dog", true), new(21, "sky-other-merged", false), new(22, "grass-merged", false),
    ];

    private static byte[] ConstantA(params (string Key, string Value)[] metadata)
    {
        var reference = MmDetectionReference.Load;
        var writer = new OnnxProtoWriter().Input("pixel_values", OnnxProtoWriter.Float, 1, 3, 96, 160)
            .ConstantOutput("class_queries_logits", [1, 10, 6], reference.Io.ReadSingles("A.class_logits"))
            .ConstantOutput("masks_queries_logits", [1, 10, 24, 40], reference.Io.ReadSingles("A.mask_logits"));
        foreach (var (key, value) in metadata) writer.Metadata(key, value);
        return writer.ToArray();
    }

    private static (MLContext Ml, IDataView Data, string Folder) ImageA()
    {
        var folder = TestPaths.NewTempFolder();
        var ml = new MLContext(seed: 1);
        return (ml, Paths(ml, [WriteImage(folder, "a.png", 160, 96)]), folder);
    }

    /// <summary>
    /// The pipeline's map is mmdetection's reference map renumbered: one segment id per map value
    /// (void, the number of classes, becomes 0), the category the value's class (value mod 1000), the
    /// areas the value's pixel count.
    /// </summary>
    private static void AssertIsReferenceMap(long[] reference, uint[] map, uint[] ids, int[] categories, long[] areas, string what)
    {
        Assert.HasCount(reference.Length, map, what);
        var idOf = new Dictionary<long, uint>();
        var valueOf = new Dictionary<uint, long>();
        for (var p = 0; p < map.Length; p++)
        {
            var value = reference[p] == 5 ? -1 : reference[p];
            if (value == -1) Assert.AreEqual(0u, map[p], $"{what}: pixel {p} is void in the reference");
            if (!idOf.TryAdd(value, map[p])) Assert.AreEqual(idOf[value], map[p], $"{what}: pixel {p}, reference value {value}");
            if (!valueOf.TryAdd(map[p], value)) Assert.AreEqual(valueOf[map[p]], value, $"{what}: pixel {p}, segment {map[p]}");
        }
        CollectionAssert.AreEquivalent(ids, valueOf.Keys.Where(id => id != 0).ToArray(), $"{what}: segment ids");
        for (var i = 0; i < ids.Length; i++)
        {
            var value = valueOf[ids[i]];
            Assert.AreEqual(Labels[value % MmDetectionPostProcessor.InstanceOffset].Id, categories[i], $"{what}: category of segment {ids[i]}");
            Assert.AreEqual(reference.LongCount(v => v == value), areas[i], $"{what}: area of segment {ids[i]}");
        }
    }

    private static readonly string[] PanopticColumns =
        [PanopticColumnNames.PredictedSegmentMap, PanopticColumnNames.PredictedSegmentIds, PanopticColumnNames.PredictedCategoryIds, PanopticColumnNames.PredictedAreas];

    private static void AssertPanoptic(Dictionary<string, object> row, long[] reference, string what) =>
        AssertIsReferenceMap(reference, (uint[])row[PanopticColumnNames.PredictedSegmentMap], (uint[])row[PanopticColumnNames.PredictedSegmentIds],
            (int[])row[PanopticColumnNames.PredictedCategoryIds], (long[])row[PanopticColumnNames.PredictedAreas], what);

    [TestMethod]
    [DataRow(true, "A.0.pan_results")]
    [DataRow(false, "A.0.pan_results_filter_low_score_false")]
    public void SegmentPanopticGivesTheMmDetectionMapAsSegments(bool filterLowScore, string key)
    {
        var (ml, data, _) = ImageA();
        using var model = (IDisposable)Load(ml).Append(ml.Transforms.SegmentPanoptic(new SegmentPanopticOptions
        {
            ModelBytes = ConstantA(), Labels = Labels, PostProcessing = PostProcessingMode.MmDetection, FilterLowScore = filterLowScore,
        })).Fit(data);
        var row = Rows(((ITransformer)model).Transform(data), PanopticColumns)[0];
        AssertPanoptic(row, MmDetectionReference.Load.Tensors.ReadInt64s(key), key);
    }

    /// <summary>
    /// Without <c>filter_low_score</c> the map differs from detectron2's on 11997 pixels of this image,
    /// so a reloaded model that forgot the mode would fail here.
    /// </summary>
    [TestMethod]
    public void TheModeSurvivesSaveAndLoad()
    {
        var (ml, data, folder) = ImageA();
        var model = Load(ml).Append(ml.Transforms.SegmentPanoptic(new SegmentPanopticOptions
        {
            ModelBytes = ConstantA(), Labels = Labels, PostProcessing = PostProcessingMode.MmDetection, FilterLowScore = false,
        })).Fit(data);
        var zip = Path.Combine(folder, "model.zip");
        ml.Model.Save(model, data.Schema, zip);
        (model as IDisposable)?.Dispose();
        var other = new MLContext(seed: 2);
        var loaded = other.Model.Load(zip, out _);
        try
        {
            var row = Rows(loaded.Transform(data), PanopticColumns)[0];
            AssertPanoptic(row, MmDetectionReference.Load.Tensors.ReadInt64s("A.0.pan_results_filter_low_score_false"), "reloaded");
        }
        finally
        {
            (loaded as IDisposable)?.Dispose();
        }
    }

    /// <summary><c>m2f.post_processing</c> / <c>m2f.filter_low_score</c> choose the mode; options override them.</summary>
    [TestMethod]
    public void TheModelsMetadataChoosesTheModeAndOptionsOverrideIt()
    {
        var (ml, data, _) = ImageA();
        var bytes = ConstantA(("m2f.post_processing", "mmdetection"), ("m2f.filter_low_score", "false"));
        var reference = MmDetectionReference.Load;
        using (var model = (IDisposable)Load(ml).Append(ml.Transforms.SegmentPanoptic(new SegmentPanopticOptions { ModelBytes = bytes, Labels = Labels })).Fit(data))
            AssertPanoptic(Rows(((ITransformer)model).Transform(data), PanopticColumns)[0], reference.Tensors.ReadInt64s("A.0.pan_results_filter_low_score_false"), "metadata");
        using (var model = (IDisposable)Load(ml).Append(ml.Transforms.SegmentPanoptic(new SegmentPanopticOptions { ModelBytes = bytes, Labels = Labels, FilterLowScore = true })).Fit(data))
            AssertPanoptic(Rows(((ITransformer)model).Transform(data), PanopticColumns)[0], reference.Tensors.ReadInt64s("A.0.pan_results"), "metadata mode, filter option");
        using (var model = (IDisposable)Load(ml).Append(ml.Transforms.SegmentPanoptic(new SegmentPanopticOptions
        {
            ModelBytes = bytes, Labels = Labels, PostProcessing = PostProcessingMode.Detectron2,
        })).Fit(data))
        {
            // detectron2's own reference map and ids on the same logits.
            var map = (uint[])Rows(((ITransformer)model).Transform(data), PanopticColumnNames.PredictedSegmentMap)[0][PanopticColumnNames.PredictedSegmentMap];
            CollectionAssert.AreEqual(reference.Tensors.ReadInt64s("A.0.d2_panoptic_seg").Select(v => (uint)v).ToArray(), map, "detectron2 by option");
        }
    }

    [TestMethod]
    public void SegmentInstancesInMmDetectionModeGivesTheReferenceInstances()
    {
        var (ml, data, _) = ImageA();
        using var model = (IDisposable)Load(ml).Append(ml.Transforms.SegmentInstances(new SegmentInstancesOptions
        {
            ModelBytes = ConstantA(), Labels = Labels, PostProcessing = PostProcessingMode.MmDetection, TopK = 20, ThingClassesOnly = false,
        })).Fit(data);
        var row = Rows(((ITransformer)model).Transform(data), PanopticColumnNames.PredictedInstanceCategoryIds, PanopticColumnNames.PredictedInstanceScores,
            PanopticColumnNames.PredictedInstanceAreas, PanopticColumnNames.PredictedInstanceBoxes)[0];
        var expected = MmDetectionReference.Load.Image("A", 0).GetProperty("mmdet_instance");
        var labels = MmDetectionReference.Ints(expected.GetProperty("labels"));
        var scores = expected.GetProperty("scores").EnumerateArray().Select(s => s.GetDouble()).ToArray();
        var areas = expected.GetProperty("mask_areas").EnumerateArray().Select(a => a.GetInt64()).ToArray();
        var boxes = expected.GetProperty("bboxes").EnumerateArray().Select(b => b.EnumerateArray().Select(v => (float)v.GetDouble()).ToArray()).ToArray();
        // As a set: (category, area, box as x, y, w, h) with the score within 1e-5.
        var actual = Enumerable.Range(0, ((int[])row[PanopticColumnNames.PredictedInstanceCategoryIds]).Length).Select(i => (
            Category: ((int[])row[PanopticColumnNames.PredictedInstanceCategoryIds])[i], Score: ((float[])row[PanopticColumnNames.PredictedInstanceScores])[i],
            Area: ((long[])row[PanopticColumnNames.PredictedInstanceAreas])[i], Box: ((float[])row[PanopticColumnNames.PredictedInstanceBoxes]).AsSpan(4 * i, 4).ToArray())).ToList();
        Assert.HasCount(labels.Length, actual, "things only: stuff pairs of the top 20 are dropped");
        for (var i = 0; i < labels.Length; i++)
        {
            float[] box = [boxes[i][0], boxes[i][1], boxes[i][2] - boxes[i][0], boxes[i][3] - boxes[i][1]];
            var match = actual.FindIndex(a => a.Category == Labels[labels[i]].Id && a.Area == areas[i] && a.Box.SequenceEqual(box) && Math.Abs(a.Score - scores[i]) <= 1e-5);
            Assert.IsGreaterThanOrEqualTo(0, match, $"reference instance {i} (label {labels[i]}, score {scores[i]}) not found");
            actual.RemoveAt(match);
        }
    }

    [TestMethod]
    public void ThePredictorUsesTheMode()
    {
        var (_, _, folder) = ImageA();
        using var predictor = new Mask2FormerPredictor(new Mask2FormerPredictorOptions
        {
            ModelBytes = ConstantA(), Labels = Labels, PostProcessing = PostProcessingMode.MmDetection, FilterLowScore = false, TopK = 20,
        });
        using var image = MLImage.CreateFromFile(Path.Combine(folder, "a.png"));
        var panoptic = predictor.PredictPanoptic(image);
        AssertIsReferenceMap(MmDetectionReference.Load.Tensors.ReadInt64s("A.0.pan_results_filter_low_score_false"), panoptic.SegmentIds.Select(v => (uint)v).ToArray(),
            panoptic.Segments.Select(s => (uint)s.Id).ToArray(), panoptic.Segments.Select(s => Labels[s.CategoryId].Id).ToArray(), panoptic.Segments.Select(s => s.Area).ToArray(), "predictor");
        var instances = predictor.PredictInstances(image);
        Assert.HasCount(MmDetectionReference.Ints(MmDetectionReference.Load.Image("A", 0).GetProperty("mmdet_instance").GetProperty("labels")).Length, instances.Instances);
        Assert.IsTrue(instances.Instances.All(p => Labels[p.ClassId].IsThing));
    }

    [TestMethod]
    public void MisuseIsRefusedWithTheSettingNamed()
    {
        var (ml, _, _) = ImageA();
        var e = Assert.ThrowsExactly<ArgumentException>(() => ml.Transforms.SegmentPanoptic(new SegmentPanopticOptions
        {
            ModelBytes = ConstantA(), Labels = Labels, PostProcessing = PostProcessingMode.Detectron2, FilterLowScore = true,
        }));
        StringAssert.Contains(e.Message, "FilterLowScore");
        Assert.ThrowsExactly<ArgumentException>(() => ml.Transforms.SegmentInstances(new SegmentInstancesOptions
        {
            ModelBytes = ConstantA(), Labels = Labels, PostProcessing = (PostProcessingMode)7,
        }));
        var bad = Assert.ThrowsExactly<InvalidOperationException>(() => ml.Transforms.SegmentPanoptic(new SegmentPanopticOptions
        {
            ModelBytes = ConstantA(("m2f.post_processing", "yolo")), Labels = Labels,
        }));
        StringAssert.Contains(bad.Message, "m2f.post_processing");
        StringAssert.Contains(bad.Message, "yolo");
        var badFilter = Assert.ThrowsExactly<InvalidOperationException>(() => ml.Transforms.SegmentPanoptic(new SegmentPanopticOptions
        {
            ModelBytes = ConstantA(("m2f.post_processing", "mmdet"), ("m2f.filter_low_score", "maybe")), Labels = Labels,
        }));
        StringAssert.Contains(badFilter.Message, "m2f.filter_low_score");
    }

    /// <summary>Slot 17 of <c>m2f.Config</c> carries the mode; it was always 0 before, so older saved models read as detectron2.</summary>
    [TestMethod]
    public void TheConfigSlotRoundTripsAndOlderModelsReadAsDetectron2()
    {
        foreach (var (mode, filter) in new[] { (PostProcessingMode.Detectron2, false), (PostProcessingMode.MmDetection, false), (PostProcessingMode.MmDetection, true) })
        {
            var settings = new ScoringSettings { InputHeight = 96, InputWidth = 160, NumClasses = 5, Labels = [.. Labels], PostProcessing = mode, FilterLowScore = filter };
            var back = ScoringSettings.FromColumns(settings.ToConfig(), settings.ToLabels());
            Assert.AreEqual((mode, filter), (back.PostProcessing, back.FilterLowScore));
        }
        var old = new ScoringSettings { InputHeight = 96, InputWidth = 160, NumClasses = 5, Labels = [.. Labels] }.ToConfig();
        Assert.AreEqual(0.0, old[17]);
        Assert.AreEqual(PostProcessingMode.Detectron2, ScoringSettings.FromColumns(old, [], withLabels: false).PostProcessing);
        old[17] = 3;
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => ScoringSettings.FromColumns(old, [], withLabels: false));
        StringAssert.Contains(e.Message, "post-processing 3");
    }

    [TestMethod]
    public void SegmentCommandTakesThePostProcessingMode()
    {
        var (_, _, folder) = ImageA();
        var images = Path.Combine(folder, "images");
        Directory.CreateDirectory(images);
        File.Move(Path.Combine(folder, "a.png"), Path.Combine(images, "a.png"));
        var model = Path.Combine(folder, "constant.onnx");
        File.WriteAllBytes(model, ConstantA());
        var labels = Path.Combine(folder, "labels.json");
        File.WriteAllText(labels, """
            {"labels": [{"id": 11, "name": "person", "isthing": 1}, {"id": 12, "name": "car", "isthing": 1}, {"id": 13, "name": "dog", "isthing": 1},
              {"id": 21, "name": "sky-other-merged", "isthing": 0}, {"id": 22, "name": "grass-merged", "isthing": 0}]}
            """);
        var reference = MmDetectionReference.Load;
        foreach (var (args, key) in new[]
        {
            (new[] { "--post-processing", "mmdet" }, "A.0.pan_results_filter_low_score_false"),
            (new[] { "--post-processing", "mmdet", "--filter-low-score" }, "A.0.pan_results"),
        })
        {
            var json = Path.Combine(folder, key + ".json");
            var pngs = Path.Combine(folder, key);
            var stdout = new StringWriter();
            var stderr = new StringWriter();
            var code = global::Mask2Former.Cli.Program.Run(["segment", "--model", model, "--labels", labels, "--images", images, "--out-json", json, "--out-folder", pngs, .. args], stdout, stderr);
            Assert.AreEqual(0, code, stderr.ToString());
            var annotation = CocoPanopticDataset.Load(json).Annotations.Single();
            var map = Png.ReadIds(Path.Combine(pngs, annotation.FileName), out _, out _);
            AssertIsReferenceMap(reference.Tensors.ReadInt64s(key), map, annotation.Segments.Select(s => s.Id).ToArray(),
                annotation.Segments.Select(s => s.CategoryId).ToArray(), annotation.Segments.Select(s => s.Area ?? -1).ToArray(), string.Join(" ", args));
        }
        var err = new StringWriter();
        var failed = global::Mask2Former.Cli.Program.Run(["segment", "--model", model, "--images", images, "--out-json", Path.Combine(folder, "x.json"), "--out-folder", Path.Combine(folder, "x"),
            "--post-processing", "yolo"], new StringWriter(), err);
        Assert.AreNotEqual(0, failed);
        StringAssert.Contains(err.ToString(), "--post-processing must be d2 or mmdet");
    }
}
