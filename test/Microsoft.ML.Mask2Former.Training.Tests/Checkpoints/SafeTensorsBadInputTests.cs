using System.Text;
using Microsoft.ML.Mask2Former.Formats;
using Microsoft.ML.Mask2Former.Training.Checkpoints;
using static TorchSharp.torch;

namespace Microsoft.ML.Mask2Former.Training.Tests.Checkpoints;

/// <summary>Every malformed file fails at <see cref="SafeTensorsFile.Open"/> with a message that says what is wrong.</summary>
[TestClass]
public sealed class SafeTensorsBadInputTests
{
    private static string WriteRaw(byte[] bytes)
    {
        var path = Path.Combine(TestPaths.NewTempFolder(), "bad.safetensors");
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static byte[] Build(string headerJson, int dataBytes, ulong? headerLengthOverride = null)
    {
        var header = Encoding.UTF8.GetBytes(headerJson);
        var bytes = new byte[8 + header.Length + dataBytes];
        BitConverter.TryWriteBytes(bytes.AsSpan(0, 8), headerLengthOverride ?? (ulong)header.Length);
        header.CopyTo(bytes, 8);
        for (var i = 0; i < dataBytes; i++) bytes[8 + header.Length + i] = (byte)i;
        return bytes;
    }

    private static DataFormatException AssertRejected(byte[] bytes, params string[] messageParts)
    {
        var path = WriteRaw(bytes);
        var error = Assert.ThrowsExactly<DataFormatException>(() => SafeTensorsFile.Open(path).Dispose());
        Assert.AreEqual(Path.GetFullPath(path), error.FilePath);
        foreach (var part in messageParts)
            Assert.IsTrue(error.Message.Contains(part, StringComparison.Ordinal), $"'{part}' is not in: {error.Message}");
        return error;
    }

    private const string TwoTensors = """{"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"b":{"dtype":"I64","shape":[1],"data_offsets":[16,24]}}""";

    [TestMethod]
    public void AWellFormedFileOfTheSameShapeOpens()
    {
        using var file = SafeTensorsFile.Open(WriteRaw(Build(TwoTensors, 24)));
        Assert.AreEqual(2, file.Entries.Count);
        using var b = file.ReadTensor("b");
        Assert.AreEqual(ScalarType.Int64, b.dtype);
        Assert.AreEqual(BitConverter.ToInt64(new byte[] { 16, 17, 18, 19, 20, 21, 22, 23 }), b[0].item<long>());
    }

    [TestMethod]
    public void TruncatedFile()
    {
        var bytes = Build(TwoTensors, 24);
        AssertRejected(bytes[..^5], "tensor 'b'", "past the end of the data section");
    }

    [TestMethod]
    public void TruncatedReferenceCheckpoint()
    {
        var bytes = File.ReadAllBytes(TestPaths.Model("small_model.safetensors"));
        AssertRejected(bytes[..(bytes.Length / 2)], "past the end of the data section");
        AssertRejected(bytes[..100], "header length", "larger than");
    }

    [TestMethod]
    public void FileShorterThanTheLengthPrefix() => AssertRejected(new byte[] { 1, 2, 3 }, "too few for the 8-byte header length");

    [TestMethod]
    public void HeaderLengthLargerThanTheFile() => AssertRejected(Build(TwoTensors, 24, headerLengthOverride: 5000), "header length 5000", "larger than");

    [TestMethod]
    public void HeaderLengthOfTwoToTheSixtyFailsWithoutAllocating()
    {
        var bytes = Build(TwoTensors, 24, headerLengthOverride: 1UL << 60);
        var path = WriteRaw(bytes);
        var before = GC.GetAllocatedBytesForCurrentThread();
        var error = Assert.ThrowsExactly<DataFormatException>(() => SafeTensorsFile.Open(path).Dispose());
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        StringAssert.Contains(error.Message, "header length 1152921504606846976");
        Assert.IsLessThan(1_000_000L, allocated, $"allocated {allocated} bytes");
    }

    [TestMethod]
    public void OffsetsOutOfRange() =>
        AssertRejected(Build("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[100,108]}}""", 8), "tensor 'a'", "[100, 108]", "past the end");

    [TestMethod]
    public void OffsetsEndBeforeTheyBegin() =>
        AssertRejected(Build("""{"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}""", 8), "end before they begin");

    [TestMethod]
    public void NegativeOrHugeOffsets()
    {
        AssertRejected(Build("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[-8,0]}}""", 8), "not a non-negative 64-bit integer");
        AssertRejected(Build("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,99999999999999999999]}}""", 8), "not a non-negative 64-bit integer");
    }

    [TestMethod]
    public void OverlappingTensors() =>
        AssertRejected(Build("""{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}""", 16),
            "'a' [0, 16)", "'b' [8, 16)", "overlap");

    [TestMethod]
    public void BytesAfterTheLastTensor()
    {
        // As the reference library (MetadataIncompleteBuffer): 3 bytes no tensor covers, e.g. a header length 3 short.
        AssertRejected(Build(TwoTensors, 27), "the last 3 bytes of the data section", "belong to no tensor");
    }

    [TestMethod]
    public void AGapBetweenTensors() =>
        AssertRejected(Build("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[12,20]}}""", 20),
            "bytes [8, 12)", "belong to no tensor", "before 'b'");

    [TestMethod]
    public void AGapBeforeTheFirstTensor() =>
        AssertRejected(Build("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}""", 12), "bytes [0, 4)", "belong to no tensor");

    [TestMethod]
    public void UnknownDType() =>
        AssertRejected(Build("""{"a":{"dtype":"F8_E4M3","shape":[4],"data_offsets":[0,4]}}""", 4), "tensor 'a'", "unknown or unsupported dtype 'F8_E4M3'");

    [TestMethod]
    public void ShapeAndByteCountDisagree()
    {
        AssertRejected(Build("""{"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,16]}}""", 16), "tensor 'a'", "needs 24 bytes", "hold 16");
        AssertRejected(Build("""{"a":{"dtype":"BF16","shape":[3],"data_offsets":[0,4]}}""", 4), "needs 6 bytes");
    }

    [TestMethod]
    public void ShapeWhoseByteCountOverflows() =>
        AssertRejected(Build("""{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}}""", 4), "more than 2^63");

    [TestMethod]
    public void NegativeShape() =>
        AssertRejected(Build("""{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}""", 4), "shape entry 0");

    [TestMethod]
    public void HeaderIsNotJson()
    {
        AssertRejected(Build("""{"a":{"dtype":"F32",""", 0), "not valid JSON");
        AssertRejected(Build("""[1,2,3]""", 0), "does not start with '{'");
        AssertRejected(Build("""{"a":[1]}""", 0), "tensor 'a'", "expected an object");
    }

    [TestMethod]
    public void RepeatedName() =>
        AssertRejected(Build("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", 8), "names 'a' twice");

    [TestMethod]
    public void MissingFields()
    {
        AssertRejected(Build("""{"a":{"shape":[1],"data_offsets":[0,4]}}""", 4), "'dtype'");
        AssertRejected(Build("""{"a":{"dtype":"F32","data_offsets":[0,4]}}""", 4), "'shape'");
        AssertRejected(Build("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0]}}""", 4), "'data_offsets'");
    }

    [TestMethod]
    public void MetadataMustMapStringsToStrings() =>
        AssertRejected(Build("""{"__metadata__":{"n":1}}""", 0), "__metadata__ value 'n'");
}
