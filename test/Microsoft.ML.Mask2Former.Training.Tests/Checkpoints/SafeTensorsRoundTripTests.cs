using Microsoft.ML.Mask2Former.Formats;
using Microsoft.ML.Mask2Former.Training.Checkpoints;
using static TorchSharp.torch;

namespace Microsoft.ML.Mask2Former.Training.Tests.Checkpoints;

[TestClass]
public sealed class SafeTensorsRoundTripTests
{
    [TestMethod]
    public void WriterThenReaderGivesIdenticalTensorsOfEveryDType()
    {
        using var scope = NewDisposeScope();
        var generator = new Generator(11);
        var tensors = new Dictionary<string, Tensor>
        {
            ["a.f32"] = randn(new long[] { 3, 4, 5 }, generator: generator),
            ["b.f16"] = randn(new long[] { 7, 2 }, generator: generator).to(ScalarType.Float16),
            ["c.bf16"] = randn(new long[] { 9 }, generator: generator).to(ScalarType.BFloat16),
            ["d.i64"] = randint(-1_000_000_000_000L, 1_000_000_000_000L, new long[] { 4, 4 }, ScalarType.Int64, generator: generator),
            ["e.bool"] = randn(new long[] { 6, 3 }, generator: generator).gt(0),
            ["f.u8"] = randint(0, 255, new long[] { 10 }, ScalarType.Byte, generator: generator),
            ["g.f64"] = randn(new long[] { 2, 2 }, ScalarType.Float64, generator: generator),
            ["h.i32"] = randint(-5, 5, new long[] { 3 }, ScalarType.Int32, generator: generator),
            ["i.scalar"] = tensor(3.25f),
            ["j.empty"] = zeros(0, 5),
            // A non-contiguous view is written as its logical (row-major) content.
            ["k.transposed"] = randn(new long[] { 3, 5 }, generator: generator).t(),
        };
        var metadata = new Dictionary<string, string> { ["format"] = "pt", ["note"] = "ünïcode \"quoted\"" };
        var path = Path.Combine(TestPaths.NewTempFolder(), "round.safetensors");

        SafeTensorsWriter.Save(path, tensors, metadata);

        using var file = SafeTensorsFile.Open(path);
        CollectionAssert.AreEqual(tensors.Keys.OrderBy(k => k, StringComparer.Ordinal).ToArray(), file.Entries.Select(e => e.Name).ToArray());
        CollectionAssert.AreEquivalent(metadata.ToList(), file.Metadata.ToList());
        foreach (var (name, expected) in tensors)
        {
            var entry = file[name];
            Assert.AreEqual(SafeTensorsTorchTypes.ToElementType(expected.dtype), entry.ElementType, name);
            CollectionAssert.AreEqual(expected.shape, entry.Shape.ToArray(), name);
            var actual = file.ReadTensor(entry);
            Assert.AreEqual(expected.dtype, actual.dtype, name);
            CollectionAssert.AreEqual(expected.shape, actual.shape, name);
            Assert.IsTrue(expected.eq(actual).all().item<bool>(), $"{name} differs after the round trip");
        }
        // Back to back, no gaps: the last tensor ends exactly at the end of the file.
        Assert.AreEqual(file.DataLength, file.Entries.Max(e => e.End));
    }

    [TestMethod]
    public void HeaderIsPaddedToEightBytesAndStartsWithABrace()
    {
        using var scope = NewDisposeScope();
        var stream = new MemoryStream();
        SafeTensorsWriter.Write(stream, new Dictionary<string, Tensor> { ["x"] = ones(3) });
        var bytes = stream.ToArray();
        var headerLength = BitConverter.ToUInt64(bytes, 0);
        Assert.AreEqual(0UL, headerLength % 8);
        Assert.AreEqual((byte)'{', bytes[8]);
        Assert.AreEqual(8 + (long)headerLength + 12, bytes.LongLength);
    }

    [TestMethod]
    public void ReferenceCheckpointResavedByUsHasTheSameNamesDTypesShapesAndBytes()
    {
        var source = TestPaths.Model("small_model.safetensors");
        var copy = Path.Combine(TestPaths.NewTempFolder(), "resaved.safetensors");
        using (var original = SafeTensorsFile.Open(source))
        {
            Assert.AreEqual(298, original.Entries.Count);
            using var scope = NewDisposeScope();
            var tensors = original.Entries.Select(e => KeyValuePair.Create(e.Name, original.ReadTensor(e))).ToList();
            SafeTensorsWriter.Save(copy, tensors, original.Metadata);
        }
        using var a = SafeTensorsFile.Open(source);
        using var b = SafeTensorsFile.Open(copy);
        CollectionAssert.AreEqual(a.Entries.Select(e => e.Name).ToArray(), b.Entries.Select(e => e.Name).ToArray());
        CollectionAssert.AreEquivalent(a.Metadata.ToList(), b.Metadata.ToList());
        foreach (var entry in a.Entries)
        {
            var other = b[entry.Name];
            Assert.AreEqual(entry.ElementType, other.ElementType, entry.Name);
            CollectionAssert.AreEqual(entry.Shape.ToArray(), other.Shape.ToArray(), entry.Name);
            Assert.IsTrue(a.GetBytes(entry).SequenceEqual(b.GetBytes(other)), $"bytes of {entry.Name} differ");
        }
        Assert.AreEqual(SafeTensorsElementType.I64, a["model.pixel_level_module.encoder.encoder.layers.0.blocks.0.attention.self.relative_position_index"].ElementType);
    }

    [TestMethod]
    public void ReferenceParameterListMatchesTheHeader()
    {
        using var file = SafeTensorsFile.Open(TestPaths.Model("small_model.safetensors"));
        var lines = File.ReadAllLines(TestPaths.Model("small_param_names.txt")).Where(l => l.Length > 0).ToList();
        Assert.AreEqual(lines.Count, file.Entries.Count);
        foreach (var line in lines)
        {
            var parts = line.Split('\t');
            var entry = file[parts[0]];
            var dtype = parts[1] switch { "float32" => SafeTensorsElementType.F32, "int64" => SafeTensorsElementType.I64, _ => throw new InvalidDataException(parts[1]) };
            Assert.AreEqual(dtype, entry.ElementType, parts[0]);
            Assert.AreEqual(parts[2], "[" + string.Join(", ", entry.Shape) + "]", parts[0]);
        }
    }

    [TestMethod]
    public void WriterRejectsRepeatedAndReservedNames()
    {
        using var scope = NewDisposeScope();
        var stream = new MemoryStream();
        var repeated = new[] { KeyValuePair.Create("x", ones(1)), KeyValuePair.Create("x", zeros(1)) };
        Assert.ThrowsExactly<ArgumentException>(() => SafeTensorsWriter.Write(stream, repeated));
        Assert.ThrowsExactly<ArgumentException>(() => SafeTensorsWriter.Write(stream, new[] { KeyValuePair.Create("__metadata__", ones(1)) }));
        Assert.ThrowsExactly<ArgumentException>(() => SafeTensorsWriter.Write(stream, new[] { KeyValuePair.Create("", ones(1)) }));
        Assert.AreEqual(0, stream.Length, "nothing is written when the input is rejected");
    }
}
