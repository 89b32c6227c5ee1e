using Microsoft.ML.Mask2Former.Formats;
using Microsoft.ML.Mask2Former.Training.Checkpoints;
using static TorchSharp.torch;

namespace Microsoft.ML.Mask2Former.Training.Tests.VitAdapter;

/// <summary>
/// The <c>.pth</c> reader: the reference mmdetection checkpoint reads with exactly the names, dtypes
/// and shapes Python listed; hostile and malformed archives are refused with the file and the item named.
/// </summary>
[TestClass]
public sealed class PthFileTests
{
    internal static string Reference(string file) => Path.Combine(TestPaths.Reference, "vit_adapter", file);

    private static T AssertRefused<T>(Func<object?> open, string path, params string[] parts) where T : Exception
    {
        var error = Assert.ThrowsExactly<T>(() => open());
        foreach (var part in parts.Append(Path.GetFullPath(path)))
            Assert.IsTrue(error.Message.Contains(part, StringComparison.Ordinal), $"'{part}' is not in: {error.Message}");
        return error;
    }

    [TestMethod]
    public void ReferenceStateDictHasThePythonNamesDtypesAndShapes()
    {
        var expected = File.ReadAllLines(Reference("param_names.txt")).Where(l => l.Length > 0).Select(l => l.Split('\t')).ToList();
        using var file = PthFile.Open(Reference("checkpoint.pth"));
        var state = MmdetCheckpoint.StateDict(file);
        var withoutEma = expected.Where(e => !e[0].StartsWith("ema_", StringComparison.Ordinal)).ToList();
        Assert.AreEqual(425, withoutEma.Count);
        CollectionAssert.AreEqual(withoutEma.Select(e => e[0]).ToList(), state.Select(s => s.Key).ToList());
        foreach (var ((name, tensor), e) in state.Zip(withoutEma))
        {
            Assert.AreEqual(e[1], tensor.ElementType.ToHeaderName(), name);
            Assert.AreEqual(e[2], "[" + string.Join(", ", tensor.Shape) + "]", name);
        }
        var meta = MmdetCheckpoint.Meta(file);
        Assert.IsNotNull(meta);
        Assert.IsTrue(meta.TryGetValue("CLASSES", out var classes));
        CollectionAssert.AreEqual(new[] { "person", "car", "dog", "sky-other-merged", "grass-merged" }, ((IEnumerable<object?>)classes!).Cast<string>().ToArray());
        Assert.IsTrue(meta.TryGetValue("mmdet_version", out var version));
        Assert.AreEqual("2.25.0", version);
    }

    [TestMethod]
    public void EmaCopiesHoldOtherValuesAndAreLeftOut()
    {
        using var file = PthFile.Open(Reference("checkpoint.pth"));
        var root = (PickleDict)file.Root!;
        root.TryGetValue("state_dict", out var state);
        var all = ((PickleDict)state!).Items.ToDictionary(kv => (string)kv.Key!, kv => (PthTensorInfo)kv.Value!);
        Assert.AreEqual(425 + 429, all.Count);
        using var weight = file.ReadTensor(all["backbone.patch_embed.proj.weight"], "backbone.patch_embed.proj.weight");
        using var ema = file.ReadTensor(all["ema_backbone_patch_embed_proj_weight"], "ema_backbone_patch_embed_proj_weight");
        // mmdet's EMA hook keeps its own copies; here they were set to weight + 0.5.
        Assert.IsTrue((ema - weight - 0.5).abs().max().item<float>() < 1e-5);
        Assert.IsFalse(MmdetCheckpoint.StateDict(file).Any(kv => kv.Key.StartsWith("ema_", StringComparison.Ordinal)));
        using var tracked = file.ReadTensor(all["backbone.norm1.num_batches_tracked"], "n");
        Assert.AreEqual(ScalarType.Int64, tracked.dtype);
        Assert.AreEqual(0L, tracked.dim());
    }

    [TestMethod]
    public void APickledOsSystemCallIsRefusedWithoutRunningIt()
    {
        var marker = Path.Combine(TestPaths.NewTempFolder(), "ran");
        foreach (var module in new[] { "posix", "os", "nt" })
        {
            var pickle = new PickleBuilder().Global(module, "system").Str($"touch {marker}").Op(0x85).Reduce().Stop().ToArray();
            var path = PickleBuilder.WriteArchive(pickle);
            AssertRefused<DataFormatException>(() => PthFile.Open(path), path, $"'{module}.system'", "refused without being run");
        }
        Assert.IsFalse(File.Exists(marker), "the pickled call ran");
    }

    [TestMethod]
    public void OtherGlobalsAreRefusedByName()
    {
        // Protocol 4 STACK_GLOBAL, an eval hidden inside a state dict, and numpy's array rebuild.
        var stackGlobal = new PickleBuilder(4).Op(0x8c, 8).Op("builtins"u8.ToArray()).Op(0x8c, 4).Op("eval"u8.ToArray()).Op(0x93)
            .Str("1+1").Op(0x85).Reduce().Stop().ToArray();
        var path = PickleBuilder.WriteArchive(stackGlobal);
        AssertRefused<DataFormatException>(() => PthFile.Open(path), path, "'builtins.eval'");

        var hidden = new PickleBuilder().EmptyDict().Mark().Str("state_dict").EmptyDict().Mark().Str("w")
            .Global("numpy.core.multiarray", "_reconstruct").SetItems().SetItems().Stop().ToArray();
        path = PickleBuilder.WriteArchive(hidden);
        AssertRefused<DataFormatException>(() => PthFile.Open(path), path, "'numpy.core.multiarray._reconstruct'");

        var inst = new PickleBuilder().Mark().Char('i').Op("subprocess\nPopen\n"u8.ToArray()).Stop().ToArray();
        path = PickleBuilder.WriteArchive(inst);
        AssertRefused<DataFormatException>(() => PthFile.Open(path), path, "'subprocess.Popen'");
    }

    [TestMethod]
    public void ATruncatedArchiveIsRefused()
    {
        var bytes = File.ReadAllBytes(Reference("checkpoint.pth"));
        foreach (var keep in new[] { bytes.Length / 2, bytes.Length - 30, 10 })
        {
            var path = Path.Combine(TestPaths.NewTempFolder(), "truncated.pth");
            File.WriteAllBytes(path, bytes[..keep]);
            AssertRefused<DataFormatException>(() => PthFile.Open(path), path, "damaged or truncated");
        }
    }

    [TestMethod]
    public void AStorageWhoseBytesDisagreeWithItsElementCountIsRefused()
    {
        var pickle = new PickleBuilder().EmptyDict().Mark().Str("w").Tensor("0", 6, 0, new[] { 2, 3 }, new[] { 3, 1 }).SetItems().Stop().ToArray();
        var path = PickleBuilder.WriteArchive(pickle, new Dictionary<string, byte[]> { ["0"] = new byte[20] });
        AssertRefused<DataFormatException>(() => PthFile.Open(path), path, "storage '0'", "24 bytes", "has 20");

        path = PickleBuilder.WriteArchive(pickle, new Dictionary<string, byte[]>());
        AssertRefused<DataFormatException>(() => PthFile.Open(path), path, "storage '0' is missing");
    }

    [TestMethod]
    public void AViewOutsideItsStorageIsRefusedWhenRead()
    {
        // 2×3 floats with offset 2 need 8 elements; the storage has 6.
        var pickle = new PickleBuilder().EmptyDict().Mark().Str("layer.weight").Tensor("0", 6, 2, new[] { 2, 3 }, new[] { 3, 1 }).SetItems().Stop().ToArray();
        var path = PickleBuilder.WriteArchive(pickle, new Dictionary<string, byte[]> { ["0"] = new byte[24] });
        using var file = PthFile.Open(path);
        var (name, info) = MmdetCheckpoint.StateDict(file).Single();
        AssertRefused<DataFormatException>(() => file.ReadTensor(info, name), path, "tensor 'layer.weight'", "reaches element 7 of storage '0'");
    }

    [TestMethod]
    public void StridedAndOffsetViewsReadLikeTorch()
    {
        // Storage 0..11 as floats; a transposed 3×2 view starting at element 1: [[1,4],[2,5],[3,6]].
        var floats = Enumerable.Range(0, 12).Select(i => (float)i).ToArray();
        var bytes = new byte[48];
        Buffer.BlockCopy(floats, 0, bytes, 0, 48);
        var pickle = new PickleBuilder().EmptyDict().Mark()
            .Str("t").Tensor("0", 12, 1, new[] { 3, 2 }, new[] { 1, 3 })
            .Str("c").Tensor("0", 12, 4, new[] { 2, 2 }, new[] { 2, 1 })
            .SetItems().Stop().ToArray();
        var path = PickleBuilder.WriteArchive(pickle, new Dictionary<string, byte[]> { ["0"] = bytes });
        using var file = PthFile.Open(path);
        var state = MmdetCheckpoint.StateDict(file).ToDictionary(kv => kv.Key, kv => kv.Value);
        using var t = file.ReadTensor(state["t"], "t");
        CollectionAssert.AreEqual(new[] { 1f, 4f, 2f, 5f, 3f, 6f }, t.data<float>().ToArray());
        using var c = file.ReadTensor(state["c"], "c");
        CollectionAssert.AreEqual(new[] { 4f, 5f, 6f, 7f }, c.data<float>().ToArray());
        Assert.AreEqual(1, file.Storages.Count);
    }

    [TestMethod]
    public void ALegacyOrForeignFileIsNamed()
    {
        var path = Path.Combine(TestPaths.NewTempFolder(), "legacy.pth");
        File.WriteAllBytes(path, new byte[] { 0x80, 0x02, 0x8a, 0x0a });
        AssertRefused<DataFormatException>(() => PthFile.Open(path), path, "torch.save zip format");
        var zip = PickleBuilder.WriteArchive(new PickleBuilder().Str("x").Stop().ToArray());
        using (var file = PthFile.Open(zip)) Assert.AreEqual("x", file.Root);
    }
}
