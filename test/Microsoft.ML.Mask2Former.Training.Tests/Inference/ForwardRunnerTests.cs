using Microsoft.ML.Mask2Former.Formats;
using Microsoft.ML.Mask2Former.Training.Checkpoints;
using Microsoft.ML.Mask2Former.Training.Inference;
using static TorchSharp.torch;

namespace Microsoft.ML.Mask2Former.Training.Tests.Inference;

[TestClass]
public sealed class ForwardRunnerTests
{
    private static string ModelFolder()
    {
        var folder = TestPaths.NewTempFolder();
        File.Copy(ReferenceData.ConfigFile, Path.Combine(folder, "config.json"));
        File.Copy(ReferenceData.ModelFile, Path.Combine(folder, "model.safetensors"));
        return folder;
    }

    [TestMethod]
    public void EveryPixelValuesTensorIsRunAndItsLogitsWritten()
    {
        var output = Path.Combine(TestPaths.NewTempFolder(), "out.safetensors");
        var prefixes = ForwardRunner.Run(ModelFolder(), TestPaths.Model("small_io.safetensors"), output);
        CollectionAssert.AreEqual(new[] { "input.A.", "input.B." }, prefixes.ToArray());
        using var file = SafeTensorsFile.Open(output);
        CollectionAssert.AreEqual(new[] { "input.A.class_queries_logits", "input.A.masks_queries_logits", "input.B.class_queries_logits", "input.B.masks_queries_logits" },
            file.Entries.Select(e => e.Name).ToArray());
        using var scope = NewDisposeScope();
        foreach (var input in new[] { "A", "B" })
        {
            ReferenceData.AssertClose(ReferenceData.Io($"{input}.class_queries_logits"), file.ReadTensor($"input.{input}.class_queries_logits"), $"{input} class");
            ReferenceData.AssertClose(ReferenceData.Io($"{input}.masks_queries_logits"), file.ReadTensor($"input.{input}.masks_queries_logits"), $"{input} masks");
        }
    }

    [TestMethod]
    public void InputsWithoutPixelValuesAreRejected()
    {
        var inputs = Path.Combine(TestPaths.NewTempFolder(), "in.safetensors");
        using (var scope = NewDisposeScope()) SafeTensorsWriter.Save(inputs, new Dictionary<string, Tensor> { ["images"] = zeros(1, 3, 8, 8) });
        var output = Path.Combine(TestPaths.NewTempFolder(), "out.safetensors");
        var error = Assert.ThrowsExactly<DataFormatException>(() => ForwardRunner.Run(ModelFolder(), inputs, output));
        StringAssert.Contains(error.Message, "no tensor named '<prefix>pixel_values'");
        Assert.IsFalse(File.Exists(output));
    }

    [TestMethod]
    public void WrongChannelCountIsABadInputNotACrash()
    {
        var inputs = Path.Combine(TestPaths.NewTempFolder(), "in.safetensors");
        using (var scope = NewDisposeScope()) SafeTensorsWriter.Save(inputs, new Dictionary<string, Tensor> { ["x.pixel_values"] = zeros(1, 4, 32, 32) });
        var error = Assert.ThrowsExactly<ArgumentException>(() => ForwardRunner.Run(ModelFolder(), inputs, Path.Combine(TestPaths.NewTempFolder(), "o.safetensors")));
        StringAssert.Contains(error.Message, "pixel_values must be [batch, 3, height, width], got [1, 4, 32, 32]");
    }

    [TestMethod]
    public void WeightsThatDoNotFitTheConfigAreABadInput()
    {
        var folder = ModelFolder();
        var config = File.ReadAllText(Path.Combine(folder, "config.json")).Replace("\"num_queries\": 12", "\"num_queries\": 13", StringComparison.Ordinal);
        File.WriteAllText(Path.Combine(folder, "config.json"), config);
        var error = Assert.ThrowsExactly<DataFormatException>(() => ForwardRunner.Run(folder, TestPaths.Model("small_io.safetensors"), Path.Combine(TestPaths.NewTempFolder(), "o.safetensors")));
        StringAssert.Contains(error.Message, "model.transformer_module.queries_features.weight (model [13, 64], checkpoint [12, 64])");
    }
}
