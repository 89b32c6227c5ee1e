using Microsoft.ML.Data;
using Microsoft.ML.Mask2Former.Formats;
using Microsoft.ML.Mask2Former.PostProcessing;
using Microsoft.ML.Mask2Former.Scoring;
using Microsoft.ML.OnnxRuntime;
using static Microsoft.ML.Mask2Former.Tests.Scoring.ScoringTestData;

namespace Microsoft.ML.Mask2Former.Tests.Scoring;

[TestClass]
public sealed class PipelineTests
{
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
        var output = Mask2FormerSegmentationEstimator.ModelStage(ml.Transforms, options, bytes, description, settings).Fit(data).Transform(data);

        AssertClose(io.ReadSingles("A.class_queries_logits"), Vectors<float>(output, "class_queries_logits")[0], 1e-4);
        AssertClose(io.ReadSingles("A.masks_queries_logits"), Vectors<float>(output, "masks_queries_logits")[0], 1e-4);
    }

    [TestMethod]
    public void PipelineFeedsTheLetterboxedTensorAndPostProcessesLikeThePostProcessor()
    {
        var folder = TestPaths.NewTempFolder();
        var paths = WriteImageSet(folder);
        var ml = new MLContext(seed: 1);
        var data = Paths(ml, paths);
        var options = new SegmentPanopticOptions { ModelPath = SmallModel, InputHeight = 96, InputWidth = 160, Labels = SmallLabels, ObjectMaskThreshold = 0.0, OverlapThreshold = 0.0 };
        var output = Load(ml).Append(ml.Transforms.SegmentPanoptic(options)).Fit(data).Transform(data);

        var pixelValues = Vectors<float>(output, "pixel_values");
        var classes = Vectors<float>(output, "class_queries_logits");
        var masks = Vectors<float>(output, "masks_queries_logits");
        var maps = Vectors<uint>(output, SegmentationColumnNames.SegmentMap);
        var categories = Vectors<int>(output, SegmentationColumnNames.SegmentCategoryIds);
        var segmentIds = Vectors<uint>(output, SegmentationColumnNames.SegmentIds);
        var areas = Vectors<long>(output, SegmentationColumnNames.SegmentAreas);
        var scores = Vectors<float>(output, SegmentationColumnNames.SegmentScores);
        var heights = Column<int>(output, SegmentationColumnNames.ImageHeight);
        var widths = Column<int>(output, SegmentationColumnNames.ImageWidth);

        var settings = new ScoringSettings { InputHeight = 96, InputWidth = 160 };
        using var session = new InferenceSession(SmallModel);
        var total = 0;
        for (var i = 0; i < paths.Length; i++)
        {
            using var image = MLImage.CreateFromFile(paths[i]);
            Assert.AreEqual((image.Height, image.Width), (heights[i], widths[i]));
            var expected = new float[3 * 96 * 160];
            var geometry = ScoringCore.Letterbox(ImagePreprocessor.ReadRgb(image), image.Height, image.Width, settings, expected);
            CollectionAssert.AreEqual(expected, pixelValues[i], $"pixel_values of image {i}");

            using var input = OrtValue.CreateTensorValueFromMemory(expected, [1, 3, 96, 160]);
            using var results = session.Run(new RunOptions(), ["pixel_values"], [input], ["class_queries_logits", "masks_queries_logits"]);
            AssertClose(results[0].GetTensorDataAsSpan<float>().ToArray(), classes[i], 1e-4);
            AssertClose(results[1].GetTensorDataAsSpan<float>().ToArray(), masks[i], 1e-4);

            var logits = new Mask2FormerLogits(classes[i], masks[i], 12, 10, 24, 40);
            var direct = Mask2FormerPostProcessor.Panoptic(logits, geometry,
                new PanopticOptions { ObjectMaskThreshold = 0, OverlapThreshold = 0, ThingClasses = [0, 1, 2, 3, 4, 5] });
            Assert.AreEqual(image.Height * image.Width, maps[i].Length);
            CollectionAssert.AreEqual(direct.SegmentIds.Select(x => (uint)x).ToArray(), maps[i]);
            CollectionAssert.AreEqual(direct.Segments.Select(s => (uint)s.Id).ToArray(), segmentIds[i]);
            CollectionAssert.AreEqual(direct.Segments.Select(s => s.CategoryId + 1).ToArray(), categories[i]);
            CollectionAssert.AreEqual(direct.Segments.Select(s => s.Area).ToArray(), areas[i]);
            CollectionAssert.AreEqual(direct.Segments.Select(s => s.Score).ToArray(), scores[i]);
            total += direct.Segments.Length;
        }
        Assert.IsGreaterThan(0, total, "the thresholds of 0 keep segments");
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
        var semantic = Load(ml).Append(ml.Transforms.SegmentSemantic(new SegmentSemanticOptions { ModelPath = SmallModel, InputHeight = 96, InputWidth = 160 })).Fit(data).Transform(data);

        var row = Rows(instances, "class_queries_logits", "masks_queries_logits", SegmentationColumnNames.InstanceCategoryIds,
            SegmentationColumnNames.InstanceScores, SegmentationColumnNames.InstanceMasks, SegmentationColumnNames.InstanceBoxes)[0];
        var classes = (float[])row["class_queries_logits"];
        var masks = (float[])row["masks_queries_logits"];
        var geometry = ScoringCore.LetterboxGeometry(90, 150, new ScoringSettings { InputHeight = 96, InputWidth = 160 });
        Assert.AreEqual(new ImageGeometry(96, 160, 96, 160, 90, 150), geometry, "150×90 scales up to fill 160×96");
        var expected = Mask2FormerPostProcessor.Instances(new Mask2FormerLogits(classes, masks, 12, 10, 24, 40), geometry, new InstanceOptions { TopK = 7 });
        Assert.HasCount(7, expected.Instances);
        CollectionAssert.AreEqual(expected.Instances.Select(p => p.ClassId + 1).ToArray(), (int[])row[SegmentationColumnNames.InstanceCategoryIds]);
        CollectionAssert.AreEqual(expected.Instances.Select(p => p.Score).ToArray(), (float[])row[SegmentationColumnNames.InstanceScores]);
        var rles = (ReadOnlyMemory<char>[])row[SegmentationColumnNames.InstanceMasks];
        for (var i = 0; i < rles.Length; i++)
        {
            var decoded = CocoRle.FromCompressedString(rles[i].ToString(), 90, 150).DecodeRowMajor();
            CollectionAssert.AreEqual(expected.Instances[i].Mask.ToBytes(), decoded, $"mask {i}");
        }
        var boxes = (float[])row[SegmentationColumnNames.InstanceBoxes];
        Assert.AreEqual(expected.Instances[0].Box.Width, (int)boxes[2]);

        var semanticRow = Rows(semantic, "class_queries_logits", "masks_queries_logits", SegmentationColumnNames.ClassMap)[0];
        var expectedSemantic = Mask2FormerPostProcessor.Semantic(
            new Mask2FormerLogits((float[])semanticRow["class_queries_logits"], (float[])semanticRow["masks_queries_logits"], 12, 10, 24, 40), geometry);
        CollectionAssert.AreEqual(expectedSemantic.ClassMap.Select(c => (uint)c).ToArray(), (uint[])semanticRow[SegmentationColumnNames.ClassMap]);
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
        })).Fit(data);
        var zip = Path.Combine(folder, "model.zip");
        ml.Model.Save(model, data.Schema, zip);

        var other = new MLContext(seed: 2);
        var loaded = other.Model.Load(zip, out var schema);
        Assert.IsNotNull(schema.GetColumnOrNull(nameof(ImageInput.ImagePath)));
        var before = model.Transform(data);
        var after = loaded.Transform(Paths(other, paths));
        foreach (var column in new[] { SegmentationColumnNames.SegmentMap, SegmentationColumnNames.SegmentIds })
            CollectionAssert.AreEqual(Vectors<uint>(before, column).SelectMany(x => x).ToArray(), Vectors<uint>(after, column).SelectMany(x => x).ToArray(), column);
        CollectionAssert.AreEqual(Vectors<int>(before, SegmentationColumnNames.SegmentCategoryIds).SelectMany(x => x).ToArray(),
            Vectors<int>(after, SegmentationColumnNames.SegmentCategoryIds).SelectMany(x => x).ToArray());
        CollectionAssert.AreEqual(Vectors<float>(before, SegmentationColumnNames.SegmentScores).SelectMany(x => x).ToArray(),
            Vectors<float>(after, SegmentationColumnNames.SegmentScores).SelectMany(x => x).ToArray());

        // PredictionEngine on the reloaded model equals batch scoring.
        using var engine = other.Model.CreatePredictionEngine<ImageInput, PanopticRow>(loaded);
        var batchMaps = Vectors<uint>(before, SegmentationColumnNames.SegmentMap);
        var batchBoxes = Vectors<float>(before, SegmentationColumnNames.SegmentBoxes);
        for (var i = 0; i < paths.Length; i++)
        {
            var prediction = engine.Predict(new ImageInput { ImagePath = paths[i] });
            CollectionAssert.AreEqual(batchMaps[i], prediction.SegmentMap, $"image {i}");
            CollectionAssert.AreEqual(batchBoxes[i], prediction.SegmentBoxes, $"image {i}");
        }
    }

    [TestMethod]
    public void ParallelEnginesAgreeAndPrefixRenamesTheOutputs()
    {
        var folder = TestPaths.NewTempFolder();
        var paths = WriteImageSet(folder);
        var ml = new MLContext(seed: 1);
        var data = Paths(ml, paths);
        var model = Load(ml).Append(ml.Transforms.SegmentPanoptic(new SegmentPanopticOptions
        {
            ModelPath = SmallModel, InputHeight = 96, InputWidth = 160, Labels = SmallLabels, OutputColumnPrefix = "Pred", IntraOpNumThreads = 1, ObjectMaskThreshold = 0,
        })).Fit(data);
        var output = model.Transform(data);
        Assert.IsNull(output.Schema.GetColumnOrNull(SegmentationColumnNames.SegmentMap));
        var batch = Vectors<uint>(output, "Pred" + SegmentationColumnNames.SegmentMap);

        var results = new uint[paths.Length][];
        // One engine per thread, created up front.
        var engines = paths.Select(_ => ml.Model.CreatePredictionEngine<ImageInput, PrefixedRow>(model)).ToArray();
        Parallel.For(0, paths.Length, new ParallelOptions { MaxDegreeOfParallelism = 3 }, i =>
            results[i] = engines[i].Predict(new ImageInput { ImagePath = paths[i] }).PredSegmentMap);
        foreach (var engine in engines) engine.Dispose();
        for (var i = 0; i < paths.Length; i++) CollectionAssert.AreEqual(batch[i], results[i]);
    }

    private sealed class PrefixedRow
    {
        public uint[] PredSegmentMap { get; set; } = [];
    }

    internal static void AssertClose(float[] expected, float[] actual, double tolerance)
    {
        Assert.HasCount(expected.Length, actual);
        double worst = 0;
        for (var i = 0; i < expected.Length; i++) worst = Math.Max(worst, Math.Abs(expected[i] - actual[i]));
        Assert.IsLessThanOrEqualTo(tolerance, worst, $"max |difference| {worst}");
    }
}
