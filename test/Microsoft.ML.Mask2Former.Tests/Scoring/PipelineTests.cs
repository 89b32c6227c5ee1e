using Microsoft.ML.Data;
using Microsoft.ML.Mask2Former.Data;
using Microsoft.ML.Mask2Former.Formats;
using Microsoft.ML.Mask2Former.PostProcessing;
using Microsoft.ML.Mask2Former.Scoring;
using static Microsoft.ML.Mask2Former.Tests.Scoring.ScoringTestData;

namespace Microsoft.ML.Mask2Former.Tests.Scoring;

[TestClass]
public sealed class PipelineTests
{
    // Tests that only read a pipeline share one: each fitted pipeline (and each predictor) builds an
    // ONNX Runtime session of the 11,846-node reference export, which takes seconds.
    private static readonly string[] BatchColumns =
    [
        "pixel_values", "class_queries_logits", "masks_queries_logits", PanopticColumnNames.PredictedSegmentMap, PanopticColumnNames.PredictedCategoryIds,
        PanopticColumnNames.PredictedSegmentIds, PanopticColumnNames.PredictedAreas, PanopticColumnNames.PredictedScores,
        PanopticColumnNames.ImageHeight, PanopticColumnNames.ImageWidth,
    ];

    private static string[] _paths = [];
    private static MLContext _ml = null!;
    private static IDataView _data = null!;
    private static ITransformer _panoptic = null!;
    private static Mask2FormerPredictor _predictor = null!;
    private static List<Dictionary<string, object>> _batch = [];

    /// <summary>
    /// The shared panoptic pipeline (thresholds 0 so segments are kept; one intra-op thread, which
    /// also exercises the OnnxOptions path), a predictor with the same settings, and every column of
    /// the pipeline's batch output, read in one pass.
    /// </summary>
    [ClassInitialize]
    public static void Initialize(TestContext context)
    {
        var folder = TestPaths.NewTempFolder();
        _paths = [.. WriteImageSet(folder), WriteImage(folder, "p.png", 200, 100, 9)];
        _ml = new MLContext(seed: 1);
        _data = Paths(_ml, _paths);
        _panoptic = Load(_ml).Append(_ml.Transforms.SegmentPanoptic(new SegmentPanopticOptions
        {
            ModelPath = SmallModel, InputHeight = 96, InputWidth = 160, Labels = SmallLabels, ObjectMaskThreshold = 0.0, OverlapThreshold = 0.0, IntraOpNumThreads = 1,
        })).Fit(_data);
        _predictor = new Mask2FormerPredictor(new Mask2FormerPredictorOptions
        {
            ModelPath = SmallModel, InputHeight = 96, InputWidth = 160, Labels = SmallLabels, ObjectMaskThreshold = 0, OverlapThreshold = 0, IntraOpNumThreads = 1,
        });
        _batch = Rows(_panoptic.Transform(_data), BatchColumns);
    }

    [ClassCleanup]
    public static void Cleanup()
    {
        _predictor?.Dispose();
        (_panoptic as IDisposable)?.Dispose();
    }

    private sealed class PixelRow
    {
        [ColumnName("pixel_values")]
        public float[] PixelValues { get; set; } = [];
    }

    [TestMethod]
    public void ModelStageGivesTheReferenceLogitsForInputA()
    {
        using var io = SafeTensorsReader.Open(SmallIo);
        var pixels = io.ReadSingles("input.A.pixel_values");
        var ml = new MLContext(seed: 1);
        var options = new SegmentPanopticOptions { ModelPath = SmallModel, InputHeight = 96, InputWidth = 160 };
        var bytes = File.ReadAllBytes(SmallModel);
        var description = OnnxModelDescription.Read(bytes, "small");
        var settings = ScoringSettings.Resolve(options, description, "small", requireFixedSize: true);
        Assert.AreEqual((96, 160), (settings.InputHeight, settings.InputWidth));
        var data = ml.Data.LoadFromEnumerable(new[] { new PixelRow { PixelValues = pixels } });
        var output = Mask2FormerSegmentationEstimator.ModelStage(ml.Transforms, options, null, bytes, description, settings).Fit(data).Transform(data);

        AssertClose(io.ReadSingles("A.class_queries_logits"), Vectors<float>(output, "class_queries_logits")[0], 1e-4);
        AssertClose(io.ReadSingles("A.masks_queries_logits"), Vectors<float>(output, "masks_queries_logits")[0], 1e-4);
    }

    [TestMethod]
    public void PipelineFeedsTheLetterboxedTensorAndPostProcessesLikeThePostProcessor()
    {
        var settings = new ScoringSettings { InputHeight = 96, InputWidth = 160 };
        var total = 0;
        for (var i = 0; i < _paths.Length; i++)
        {
            var row = _batch[i];
            using var image = MLImage.CreateFromFile(_paths[i]);
            Assert.AreEqual((image.Height, image.Width), ((int)row[PanopticColumnNames.ImageHeight], (int)row[PanopticColumnNames.ImageWidth]));
            var expected = new float[3 * 96 * 160];
            var geometry = ScoringCore.Letterbox(ImagePreprocessor.ReadRgb(image), image.Height, image.Width, settings, expected);
            CollectionAssert.AreEqual(expected, (float[])row["pixel_values"], $"pixel_values of image {i}");

            // ONNX Runtime directly, on the same tensor.
            var classes = (float[])row["class_queries_logits"];
            var masks = (float[])row["masks_queries_logits"];
            var (directClasses, directMasks) = _predictor.RunTensor(expected, 96, 160);
            AssertClose(directClasses, classes, 1e-4);
            AssertClose(directMasks, masks, 1e-4);

            var logits = new Mask2FormerLogits(classes, masks, 12, 10, 24, 40);
            var direct = Mask2FormerPostProcessor.Panoptic(logits, geometry,
                new PanopticOptions { ObjectMaskThreshold = 0, OverlapThreshold = 0, ThingClasses = [0, 1, 2, 3, 4, 5] });
            var map = (uint[])row[PanopticColumnNames.PredictedSegmentMap];
            Assert.AreEqual(image.Height * image.Width, map.Length);
            CollectionAssert.AreEqual(direct.SegmentIds.Select(x => (uint)x).ToArray(), map);
            CollectionAssert.AreEqual(direct.Segments.Select(s => (uint)s.Id).ToArray(), (uint[])row[PanopticColumnNames.PredictedSegmentIds]);
            CollectionAssert.AreEqual(direct.Segments.Select(s => SmallLabels[s.CategoryId].Id).ToArray(), (int[])row[PanopticColumnNames.PredictedCategoryIds]);
            CollectionAssert.AreEqual(direct.Segments.Select(s => s.Area).ToArray(), (long[])row[PanopticColumnNames.PredictedAreas]);
            CollectionAssert.AreEqual(direct.Segments.Select(s => s.Score).ToArray(), (float[])row[PanopticColumnNames.PredictedScores]);
            total += direct.Segments.Length;
        }
        Assert.IsGreaterThan(0, total, "the thresholds of 0 keep segments");
    }

    [TestMethod]
    public void PredictorEqualsThePipelineForAFixedSize()
    {
        for (var i = 0; i < _paths.Length; i++)
        {
            using var image = MLImage.CreateFromFile(_paths[i]);
            var direct = _predictor.PredictPanoptic(image);
            CollectionAssert.AreEqual(direct.SegmentIds.Select(v => (uint)v).ToArray(), (uint[])_batch[i][PanopticColumnNames.PredictedSegmentMap], $"image {i}");
            CollectionAssert.AreEqual(direct.Segments.Select(s => SmallLabels[s.CategoryId].Id).ToArray(), (int[])_batch[i][PanopticColumnNames.PredictedCategoryIds], $"image {i}");
        }
    }

    [TestMethod]
    public void InstancesAndSemanticMatchThePostProcessor()
    {
        var folder = TestPaths.NewTempFolder();
        var path = WriteImage(folder, "a.png", 150, 90, 5);
        var ml = new MLContext(seed: 1);
        var data = Paths(ml, [path]);
        var instances = Load(ml).Append(ml.Transforms.SegmentInstances(new SegmentInstancesOptions { ModelPath = SmallModel, InputHeight = 96, InputWidth = 160, Labels = SmallLabels, TopK = 7 }))
            .Fit(data).Transform(data);
        var semantic = Load(ml).Append(ml.Transforms.SegmentSemantic(new SegmentSemanticOptions { ModelPath = SmallModel, InputHeight = 96, InputWidth = 160, Labels = SmallLabels }))
            .Fit(data).Transform(data);

        var row = Rows(instances, "class_queries_logits", "masks_queries_logits", PanopticColumnNames.PredictedInstanceCategoryIds,
            PanopticColumnNames.PredictedInstanceScores, PanopticColumnNames.PredictedInstanceMasks, PanopticColumnNames.PredictedInstanceBoxes)[0];
        var classes = (float[])row["class_queries_logits"];
        var masks = (float[])row["masks_queries_logits"];
        var geometry = ScoringCore.LetterboxGeometry(90, 150, new ScoringSettings { InputHeight = 96, InputWidth = 160 });
        Assert.AreEqual(new ImageGeometry(96, 160, 96, 160, 90, 150), geometry, "150×90 scales up to fill 160×96");
        var expected = Mask2FormerPostProcessor.Instances(new Mask2FormerLogits(classes, masks, 12, 10, 24, 40), geometry, new InstanceOptions { TopK = 7 });
        Assert.HasCount(7, expected.Instances);
        CollectionAssert.AreEqual(expected.Instances.Select(p => SmallLabels[p.ClassId].Id).ToArray(), (int[])row[PanopticColumnNames.PredictedInstanceCategoryIds]);
        CollectionAssert.AreEqual(expected.Instances.Select(p => p.Score).ToArray(), (float[])row[PanopticColumnNames.PredictedInstanceScores]);
        var rles = (ReadOnlyMemory<char>[])row[PanopticColumnNames.PredictedInstanceMasks];
        for (var i = 0; i < rles.Length; i++)
        {
            var decoded = CocoRle.FromCompressedString(rles[i].ToString(), 90, 150).DecodeRowMajor();
            CollectionAssert.AreEqual(expected.Instances[i].Mask.ToBytes(), decoded, $"mask {i}");
        }
        var boxes = (float[])row[PanopticColumnNames.PredictedInstanceBoxes];
        Assert.AreEqual(expected.Instances[0].Box.Width, (int)boxes[2]);

        var semanticRow = Rows(semantic, "class_queries_logits", "masks_queries_logits", PanopticColumnNames.PredictedSemanticMap)[0];
        var expectedSemantic = Mask2FormerPostProcessor.Semantic(
            new Mask2FormerLogits((float[])semanticRow["class_queries_logits"], (float[])semanticRow["masks_queries_logits"], 12, 10, 24, 40), geometry);
        // The semantic map holds each class's category id, as the panoptic and instance columns do.
        CollectionAssert.AreEqual(expectedSemantic.ClassMap.Select(c => (uint)SmallLabels[c].Id).ToArray(), (uint[])semanticRow[PanopticColumnNames.PredictedSemanticMap]);
        Assert.IsGreaterThan(1, expectedSemantic.ClassMap.Distinct().Count(), "the case must use several classes");
    }

    [TestMethod]
    public void SaveLoadAndPredictionEngineGiveTheSamePredictions()
    {
        var folder = TestPaths.NewTempFolder();
        var paths = WriteImageSet(folder);
        var ml = new MLContext(seed: 1);
        var data = Paths(ml, paths);
        var model = Load(ml).Append(ml.Transforms.SegmentPanoptic(new SegmentPanopticOptions
        {
            ModelBytes = File.ReadAllBytes(SmallModel), InputHeight = 96, InputWidth = 160, Labels = SmallLabels, ObjectMaskThreshold = 0.3, OverlapThreshold = 0.5,
            OutputColumnPrefix = "Pred",
        })).Fit(data);
        var zip = Path.Combine(folder, "model.zip");
        ml.Model.Save(model, data.Schema, zip);

        var other = new MLContext(seed: 2);
        var loaded = other.Model.Load(zip, out var schema);
        Assert.IsNotNull(schema.GetColumnOrNull(nameof(ImageInput.ImagePath)));
        var before = model.Transform(data);
        var after = loaded.Transform(Paths(other, paths));
        // The prefix renames every output and survives the reload.
        foreach (var view in new[] { before, after })
        {
            Assert.IsNull(view.Schema.GetColumnOrNull(PanopticColumnNames.PredictedSegmentMap));
            Assert.IsNotNull(view.Schema.GetColumnOrNull("Pred" + PanopticColumnNames.PredictedSegmentMap));
        }
        string[] columns = [.. new[] { PanopticColumnNames.PredictedSegmentMap, PanopticColumnNames.PredictedSegmentIds, PanopticColumnNames.PredictedCategoryIds,
            PanopticColumnNames.PredictedScores, PanopticColumnNames.PredictedBoxes }.Select(c => "Pred" + c)];
        var rowsBefore = Rows(before, columns);
        var rowsAfter = Rows(after, columns);
        Assert.HasCount(paths.Length, rowsAfter);
        for (var i = 0; i < paths.Length; i++)
            foreach (var column in columns)
                CollectionAssert.AreEqual((System.Collections.ICollection)rowsBefore[i][column], (System.Collections.ICollection)rowsAfter[i][column], $"{column} of image {i}");

        // A PredictionEngine on the reloaded model equals batch scoring.
        using var engine = other.Model.CreatePredictionEngine<ImageInput, PrefixedRow>(loaded);
        for (var i = 0; i < paths.Length; i++)
        {
            var prediction = engine.Predict(new ImageInput { ImagePath = paths[i] });
            CollectionAssert.AreEqual((uint[])rowsBefore[i]["Pred" + PanopticColumnNames.PredictedSegmentMap], prediction.PredPredictedSegmentMap, $"image {i}");
            CollectionAssert.AreEqual((float[])rowsBefore[i]["Pred" + PanopticColumnNames.PredictedBoxes], prediction.PredPredictedBoxes, $"image {i}");
        }
    }

    /// <summary>
    /// Engines created at the same moment on many threads, each used and disposed on its own thread
    /// while the others still run, agree with batch scoring. Engines that own the model (ML.NET's
    /// default) crash this test's process in its first round: the first disposal frees the ONNX
    /// Runtime sessions under the other engines.
    /// </summary>
    [TestMethod]
    public void EnginesCreatedConcurrentlyOnManyThreadsAgreeWithBatchScoring()
    {
        const int threadCount = 6, rounds = 8, imagesPerThread = 2;
        for (var round = 0; round < rounds; round++)
        {
            using var start = new Barrier(threadCount);
            var failures = new System.Collections.Concurrent.ConcurrentQueue<string>();
            var threads = Enumerable.Range(0, threadCount).Select(t => new Thread(() =>
            {
                try
                {
                    start.SignalAndWait();
                    using var engine = SegmentationEnginePool<ImageInput, PanopticRow>.CreateEngine(_ml, _panoptic);
                    for (var k = 0; k < imagesPerThread; k++)
                    {
                        var i = (t + k + round) % _paths.Length;
                        var prediction = engine.Predict(new ImageInput { ImagePath = _paths[i] });
                        if (!prediction.SegmentMap.AsSpan().SequenceEqual((uint[])_batch[i][PanopticColumnNames.PredictedSegmentMap]))
                            failures.Enqueue($"round {round}, thread {t}: image {i} differs from batch scoring");
                    }
                }
                catch (Exception e)
                {
                    failures.Enqueue($"round {round}, thread {t}: {e}");
                }
            })).ToArray();
            foreach (var thread in threads) thread.Start();
            foreach (var thread in threads) thread.Join();
            Assert.IsEmpty(failures, string.Join(Environment.NewLine, failures));
        }
    }

    [TestMethod]
    public void EnginePoolScoresFromManyThreadsAndLeavesTheModelUsable()
    {
        var results = new uint[6 * _paths.Length][];
        var pool = new SegmentationEnginePool<ImageInput, PanopticRow>(_ml, _panoptic);
        Parallel.For(0, results.Length, new ParallelOptions { MaxDegreeOfParallelism = 4 }, k =>
            results[k] = pool.Predict(new ImageInput { ImagePath = _paths[k % _paths.Length] }).SegmentMap);
        pool.Dispose();
        for (var k = 0; k < results.Length; k++)
            CollectionAssert.AreEqual((uint[])_batch[k % _paths.Length][PanopticColumnNames.PredictedSegmentMap], results[k], $"call {k}");
        Assert.ThrowsExactly<ObjectDisposedException>(() => pool.Predict(new ImageInput { ImagePath = _paths[0] }));

        // The pool did not own the model: it still scores, and the same.
        var again = Vectors<uint>(_panoptic.Transform(_data), PanopticColumnNames.PredictedSegmentMap);
        for (var i = 0; i < _paths.Length; i++) CollectionAssert.AreEqual((uint[])_batch[i][PanopticColumnNames.PredictedSegmentMap], again[i]);
    }

    private sealed class PrefixedRow
    {
        public uint[] PredPredictedSegmentMap { get; set; } = [];

        public float[] PredPredictedBoxes { get; set; } = [];
    }

    internal static void AssertClose(float[] expected, float[] actual, double tolerance)
    {
        Assert.HasCount(expected.Length, actual);
        double worst = 0;
        for (var i = 0; i < expected.Length; i++) worst = Math.Max(worst, Math.Abs(expected[i] - actual[i]));
        Assert.IsLessThanOrEqualTo(tolerance, worst, $"max |difference| {worst}");
    }
}
