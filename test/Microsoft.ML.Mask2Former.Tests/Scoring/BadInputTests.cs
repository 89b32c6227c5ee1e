using Microsoft.ML.Mask2Former.Data;
using Microsoft.ML.Mask2Former.Scoring;
using static Microsoft.ML.Mask2Former.Tests.Scoring.ScoringTestData;

namespace Microsoft.ML.Mask2Former.Tests.Scoring;

[TestClass]
public sealed class BadInputTests
{
    private const int Q = 3, K = 2;

    private static byte[] GoodConstantModel(float[]? classes = null, float[]? masks = null) => ConstantModel(32, 32,
    [
        ("class_queries_logits", [1, Q, K + 1], classes ?? Random(Q * (K + 1), 1)),
        ("masks_queries_logits", [1, Q, 8, 8], masks ?? Random(Q * 64, 2)),
    ]);

    [TestMethod]
    public void AModelWithoutTheTwoOutputsIsRefusedWhenThePipelineIsBuilt()
    {
        var ml = new MLContext(seed: 1);
        var bytes = ConstantModel(32, 32, [("logits", [1, Q, K + 1], Random(Q * (K + 1), 1))]);
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => ml.Transforms.SegmentPanoptic(new SegmentPanopticOptions { ModelBytes = bytes }));
        StringAssert.Contains(e.Message, "'class_queries_logits' float32 [N, Q, K+1]");
        StringAssert.Contains(e.Message, "'logits' float32 [1, 3, 3]");
    }

    [TestMethod]
    public void WrongRanksAreRefusedNamingWhatWasFound()
    {
        var ml = new MLContext(seed: 1);
        var bytes = ConstantModel(32, 32,
        [
            ("class_queries_logits", [Q, K + 1], Random(Q * (K + 1), 1)),
            ("masks_queries_logits", [1, Q, 64], Random(Q * 64, 2)),
        ]);
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => ml.Transforms.SegmentInstances(new SegmentInstancesOptions { ModelBytes = bytes }));
        StringAssert.Contains(e.Message, "'class_queries_logits' float32 [3, 3]");
        StringAssert.Contains(e.Message, "'masks_queries_logits' float32 [1, 3, 64]");
        StringAssert.Contains(e.Message, "expected");
    }

    [TestMethod]
    public void BytesThatAreNotAnOnnxModelAreRefusedWhenThePipelineIsBuilt()
    {
        var ml = new MLContext(seed: 1);
        var good = GoodConstantModel();
        foreach (var bytes in new[] { "not a model"u8.ToArray(), good[..^7], Array.Empty<byte>() })
        {
            var e = Assert.ThrowsExactly<InvalidOperationException>(() => ml.Transforms.SegmentPanoptic(new SegmentPanopticOptions { ModelBytes = bytes }));
            StringAssert.Contains(e.Message, "the ONNX model bytes is not a loadable ONNX model");
        }
    }

    [TestMethod]
    public void AModelOnnxRuntimeCannotLoadIsRefusedWhenThePipelineIsBuilt()
    {
        // The right interface, but the outputs are declared and never produced: the description (read
        // from the bytes) passes, ONNX Runtime refuses the graph.
        var bytes = new OnnxProtoWriter().Input("pixel_values", OnnxProtoWriter.Float, 1, 3, 32, 32)
            .DeclareOutput("class_queries_logits", OnnxProtoWriter.Float, 1, Q, K + 1)
            .DeclareOutput("masks_queries_logits", OnnxProtoWriter.Float, 1, Q, 8, 8)
            .ToArray();
        var ml = new MLContext(seed: 1);
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => ml.Transforms.SegmentPanoptic(new SegmentPanopticOptions { ModelBytes = bytes }));
        StringAssert.Contains(e.Message, "the ONNX model bytes is not a loadable ONNX model");
    }

    [TestMethod]
    public void TheModelBytesAreDescribedAsOnnxRuntimeDescribesThem()
    {
        // Open height and width (symbolic), a metadata entry, an initializer among the graph's values.
        var bytes = new OnnxProtoWriter().Input("pixel_values", OnnxProtoWriter.Float, 1, 3, -1, -2)
            .ConstantOutput("class_queries_logits", [1, Q, K + 1], Random(Q * (K + 1), 1))
            .ConstantOutput("masks_queries_logits", [1, Q, 8, 8], Random(Q * 64, 2))
            .Metadata("m2f.mean", "[0.5, 0.5, 0.5]")
            .ToArray();
        var read = OnnxModelDescription.Read(bytes, "bytes");
        using var session = new Microsoft.ML.OnnxRuntime.InferenceSession(bytes);
        var described = OnnxModelDescription.Describe(session, "session");
        Assert.AreEqual(described.InputName, read.InputName);
        CollectionAssert.AreEqual(described.InputDims, read.InputDims);
        CollectionAssert.AreEqual(new[] { 1, 3, -1, -1 }, read.InputDims);
        CollectionAssert.AreEqual(described.ClassDims, read.ClassDims);
        CollectionAssert.AreEqual(described.MaskDims, read.MaskDims);
        CollectionAssert.AreEquivalent(described.Metadata.ToArray(), read.Metadata.ToArray());
        Assert.AreEqual("[0.5, 0.5, 0.5]", read.Metadata["m2f.mean"]);

        // A model whose interface is wrong gives the same message either way.
        var wrong = ConstantModel(32, 32, [("logits", [1, Q, K + 1], Random(Q * (K + 1), 1))]);
        using var wrongSession = new Microsoft.ML.OnnxRuntime.InferenceSession(wrong);
        var fromBytes = Assert.ThrowsExactly<InvalidOperationException>(() => OnnxModelDescription.Read(wrong, "m"));
        var fromSession = Assert.ThrowsExactly<InvalidOperationException>(() => OnnxModelDescription.Describe(wrongSession, "m"));
        Assert.AreEqual(fromSession.Message, fromBytes.Message);
    }

    [TestMethod]
    public void ALabelSetOfTheWrongSizeIsRefused()
    {
        var ml = new MLContext(seed: 1);
        var e = Assert.ThrowsExactly<ArgumentException>(() => ml.Transforms.SegmentPanoptic(new SegmentPanopticOptions
        {
            ModelBytes = GoodConstantModel(), Labels = SmallLabels,
        }));
        StringAssert.Contains(e.Message, "10 entries");
        StringAssert.Contains(e.Message, "2 classes");
    }

    [TestMethod]
    public void MissingAndCorruptImagesFailWithAnException()
    {
        var folder = TestPaths.NewTempFolder();
        var corrupt = Path.Combine(folder, "corrupt.png");
        File.WriteAllBytes(corrupt, [0x89, 0x50, 0x4E, 0x47, 1, 2, 3]);
        var missing = Path.Combine(folder, "missing.png");
        var ml = new MLContext(seed: 1);
        var model = Load(ml).Append(ml.Transforms.SegmentPanoptic(new SegmentPanopticOptions { ModelBytes = GoodConstantModel() }))
            .Fit(Paths(ml, [missing]));
        var e = Assert.Throws<Exception>(() => Rows(model.Transform(Paths(ml, [missing])), PanopticColumnNames.PredictedSegmentMap));
        StringAssert.Contains(e.ToString(), "missing.png");
        Assert.Throws<Exception>(() => Rows(model.Transform(Paths(ml, [corrupt])), PanopticColumnNames.PredictedSegmentMap));
    }

    [TestMethod]
    public void TinyAndHugeImagesAreScoredAtTheirOwnSize()
    {
        var folder = TestPaths.NewTempFolder();
        var tiny = WriteImage(folder, "tiny.png", 1, 1);
        var huge = WriteImage(folder, "huge.jpg", 6000, 4000);
        var ml = new MLContext(seed: 1);
        var data = Paths(ml, [tiny, huge]);
        var output = Load(ml).Append(ml.Transforms.SegmentPanoptic(new SegmentPanopticOptions { ModelBytes = GoodConstantModel(), ObjectMaskThreshold = 0 }))
            .Fit(data).Transform(data);
        var rows = Rows(output, PanopticColumnNames.ImageHeight, PanopticColumnNames.ImageWidth, PanopticColumnNames.PredictedSegmentMap, PanopticColumnNames.PredictedAreas);
        Assert.AreEqual((1, 1), ((int)rows[0][PanopticColumnNames.ImageHeight], (int)rows[0][PanopticColumnNames.ImageWidth]));
        Assert.HasCount(1, (uint[])rows[0][PanopticColumnNames.PredictedSegmentMap]);
        Assert.AreEqual((4000, 6000), ((int)rows[1][PanopticColumnNames.ImageHeight], (int)rows[1][PanopticColumnNames.ImageWidth]));
        var map = (uint[])rows[1][PanopticColumnNames.PredictedSegmentMap];
        Assert.HasCount(24_000_000, map);
        Assert.AreEqual(((long[])rows[1][PanopticColumnNames.PredictedAreas]).Sum(), map.LongCount(v => v != 0));
    }

    [TestMethod]
    public void NaNAndInfiniteLogitsStopThePipelineWithTheirCount()
    {
        // Post-processing alone gives a defined result for them (PostProcessingEdgeCaseTests);
        // a pipeline has no per-row warning, so it refuses rather than silently dropping queries.
        var classes = Random(Q * (K + 1), 1);
        classes[0] = float.NaN;
        classes[4] = float.PositiveInfinity;
        var masks = Random(Q * 64, 2);
        masks[5] = float.NaN;
        masks[70] = float.NegativeInfinity;
        var folder = TestPaths.NewTempFolder();
        var path = WriteImage(folder, "a.png", 50, 40);
        var ml = new MLContext(seed: 1);
        var data = Paths(ml, [path]);
        var bytes = GoodConstantModel(classes, masks);
        foreach (var estimator in new IEstimator<ITransformer>[]
        {
            ml.Transforms.SegmentPanoptic(new SegmentPanopticOptions { ModelBytes = bytes, ObjectMaskThreshold = 0, OverlapThreshold = 0 }),
            ml.Transforms.SegmentInstances(new SegmentInstancesOptions { ModelBytes = bytes }),
            ml.Transforms.SegmentSemantic(new SegmentSemanticOptions { ModelBytes = bytes }),
        })
        {
            var output = Load(ml).Append(estimator).Fit(data).Transform(data);
            var e = Assert.Throws<Exception>(() => Rows(output, PanopticColumnNames.ImageHeight));
            StringAssert.Contains(e.ToString(), "4 NaN or infinite logits");
            StringAssert.Contains(e.ToString(), "40×50 image");
        }
        // The same model with finite logits scores.
        var finite = GoodConstantModel(Random(Q * (K + 1), 1), Random(Q * 64, 2));
        var rows = Rows(Load(ml).Append(ml.Transforms.SegmentPanoptic(new SegmentPanopticOptions { ModelBytes = finite })).Fit(data).Transform(data), PanopticColumnNames.ImageHeight);
        Assert.AreEqual(40, (int)rows[0][PanopticColumnNames.ImageHeight]);
    }

    [TestMethod]
    public void AnImageColumnOfTheWrongTypeIsNamedInTheError()
    {
        var ml = new MLContext(seed: 1);
        var estimator = ml.Transforms.SegmentPanoptic(new SegmentPanopticOptions { ModelBytes = GoodConstantModel(), ImageColumnName = "ImagePath" });
        var data = Paths(ml, ["x.png"]);
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => estimator.Fit(data));
        StringAssert.Contains(e.Message, "'ImagePath' must be an image");
        var missing = ml.Transforms.SegmentPanoptic(new SegmentPanopticOptions { ModelBytes = GoodConstantModel(), ImageColumnName = "Photo" });
        e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => missing.Fit(data));
        StringAssert.Contains(e.Message, "no column 'Photo'");
    }
}
