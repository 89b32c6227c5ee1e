using Microsoft.ML.Mask2Former.Formats;

namespace Microsoft.ML.Mask2Former.Tests.Formats;

[TestClass]
public sealed class AtomicFileTests
{
    [TestMethod]
    public void WriteReplacesTheFileAndLeavesNoTemporary()
    {
        var folder = TestPaths.NewTempFolder();
        var path = Path.Combine(folder, "state.json");
        AtomicFile.WriteAllText(path, "one");
        AtomicFile.WriteAllText(path, "two");
        Assert.AreEqual("two", File.ReadAllText(path));
        CollectionAssert.AreEqual(new[] { path }, Directory.GetFiles(folder));

        // A write that throws keeps the previous content and removes its temporary file.
        Assert.ThrowsExactly<InvalidOperationException>(() => AtomicFile.Write(path, s =>
        {
            s.WriteByte(1);
            throw new InvalidOperationException("fails half-way");
        }));
        Assert.AreEqual("two", File.ReadAllText(path));
        CollectionAssert.AreEqual(new[] { path }, Directory.GetFiles(folder));
    }

    [TestMethod]
    public void DeleteLeftoversRemovesOnlyTheTemporariesOfThatFile()
    {
        var folder = TestPaths.NewTempFolder();
        var path = Path.Combine(folder, "model.safetensors");
        File.WriteAllText(path, "current");
        // What writes of a killed process leave behind: .<name>.<pid>.<guid>.tmp.
        var leftovers = new[] { ".model.safetensors.4242.0123456789abcdef0123456789abcdef.tmp", ".model.safetensors.7.fedcba9876543210fedcba9876543210.tmp" };
        foreach (var name in leftovers) File.WriteAllText(Path.Combine(folder, name), "partial");
        var others = new[] { ".config.json.4242.0123456789abcdef0123456789abcdef.tmp", "model.safetensors.tmp", ".model.safetensors.bak" };
        foreach (var name in others) File.WriteAllText(Path.Combine(folder, name), "other");

        Assert.AreEqual(2, AtomicFile.DeleteLeftovers(path));
        CollectionAssert.AreEquivalent(others.Append("model.safetensors").ToArray(), Directory.GetFiles(folder).Select(Path.GetFileName).ToArray());
        Assert.AreEqual("current", File.ReadAllText(path));

        Assert.AreEqual(0, AtomicFile.DeleteLeftovers(path));
        Assert.AreEqual(0, AtomicFile.DeleteLeftovers(Path.Combine(folder, "missing", "file.json")));
        Assert.ThrowsExactly<ArgumentException>(() => AtomicFile.DeleteLeftovers(""));
    }

    [TestMethod]
    public void DeleteLeftoversInRemovesEveryTemporaryOfAtomicWritesInAFolderAndNothingElse()
    {
        var folder = TestPaths.NewTempFolder();
        var leftovers = new[] { ".a.png.4242.0123456789abcdef0123456789abcdef.tmp", ".pred.json.7.fedcba9876543210fedcba9876543210.tmp" };
        var others = new[] { "a.png", "notes.tmp", ".a.png.tmp", ".a.png.x.0123456789abcdef0123456789abcdef.tmp", ".a.png.4242.0123.tmp" };
        foreach (var name in leftovers.Concat(others)) File.WriteAllText(Path.Combine(folder, name), "x");
        Directory.CreateDirectory(Path.Combine(folder, "sub"));
        File.WriteAllText(Path.Combine(folder, "sub", leftovers[0]), "x");

        Assert.AreEqual(2, AtomicFile.DeleteLeftoversIn(folder));
        CollectionAssert.AreEquivalent(others, Directory.GetFiles(folder).Select(Path.GetFileName).ToArray());
        Assert.IsTrue(File.Exists(Path.Combine(folder, "sub", leftovers[0])), "sub-folders are left alone");
        Assert.AreEqual(0, AtomicFile.DeleteLeftoversIn(Path.Combine(folder, "missing")));
    }
}
