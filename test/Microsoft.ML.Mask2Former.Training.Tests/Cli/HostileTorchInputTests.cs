using System.Text;
using System.Text.Json.Nodes;
using Microsoft.ML.Mask2Former.Formats;
using Microsoft.ML.Mask2Former.Synthetic;
using Microsoft.ML.Mask2Former.Tests.Cli;
using Microsoft.ML.Mask2Former.Training.Checkpoints;
using Microsoft.ML.Mask2Former.Training.Modeling;
using Microsoft.ML.Mask2Former.Training.Tests.Training;
using static TorchSharp.torch;

namespace Microsoft.ML.Mask2Former.Training.Tests.Cli;

/// <summary>
/// Careless and hostile inputs to the <c>m2f</c> commands that run libtorch: forward,
/// export and train with damaged weights, NaN tensors, empty batches, absurd configurations,
/// misaligned safetensors; resumes from damaged checkpoints (truncated optimizer state, a generator
/// state libtorch would abort the process on) or with another size, data set, configuration or
/// step count; initial weights of another model; crowd-only data; sweeps resumed on another model
/// or data set. Each ends with exit 2 and one line, in this process (so no native abort), leaving
/// every input byte-identical (<see cref="HostileCli.AssertRefused"/>). Inputs are made once.
/// </summary>
[TestClass]
[DoNotParallelize]
public sealed class HostileTorchInputTests : HostileCaseTests<HostileTorchInputTests, HostileTorchInputTests.Fixture>, IHostileCases<HostileTorchInputTests.Fixture>
{
    public static Fixture MakeFixture(string root) => new(root);

    public static IReadOnlyDictionary<string, Func<Fixture, HostileCase>> Cases { get; } = new Dictionary<string, Func<Fixture, HostileCase>>
    {
        // forward and export.
        ["forward: an empty batch [0, 3, 96, 160]"] = f => new HostileCase(f.Forward(inputs: f.Path("empty-batch.safetensors")), "'pixel_values'", "[0, 3, 96, 160]", "holds no image"),
        ["forward: pixel values with NaN"] = f => new HostileCase(f.Forward(inputs: f.Path("nan-pixels.safetensors")), "'pixel_values' holds 1 NaN or infinite values"),
        ["forward: a header length 3 bytes short"] = f => new HostileCase(f.Forward(inputs: f.Path("short-header.safetensors")), "the last 3 bytes of the data section", "belong to no tensor"),
        ["forward: NaN weights"] = f => new HostileCase(f.Forward(model: f.Path("nan-model")), "holds 1 NaN or infinite values", "model.safetensors"),
        ["export: NaN weights"] = f => new HostileCase(["export", "--model", f.Path("nan-model"), "--out", f.Out("nan.onnx")], "holds 1 NaN or infinite values"),
        ["forward: a configuration of absurd size"] = f => new HostileCase(f.Forward(model: f.Path("absurd-model")), "GiB of weights, more than", "hidden_dim 4000000", "config.json"),
        ["export: a configuration of absurd size"] = f => new HostileCase(["export", "--model", f.Path("absurd-model"), "--out", f.Out("absurd.onnx")], "GiB of weights, more than"),
        ["train: a configuration of absurd size"] = f => new HostileCase(f.Train(f.Out("absurd-run"), config: Path.Combine(f.Path("absurd-model"), "config.json")), "GiB of weights, more than"),

        // train.
        ["train --batch 1000 on 4 images"] = f => new HostileCase(f.Train(f.Out("big-batch"), batch: "1000"), "--batch 1000 is larger than the training set (4 images)"),
        ["train --steps 0"] = f => new HostileCase(f.Train(f.Out("zero-steps"), steps: "0"), "--steps must be at least 1, got 0"),
        ["train --init holding none of the model's tensors"] = f => new HostileCase([.. f.Train(f.Out("foreign-init")), "--init", f.Path("foreign.safetensors")],
            "the initial weights hold none of the model's", "foreign.safetensors"),
        ["train: a crowd-only data set"] = f => new HostileCase(f.Train(f.Out("crowd-run"), data: f.Path("crowd-data")), "nothing to learn from", "panoptic.json"),
        ["train: file_name ../../etc/passwd"] = f => new HostileCase(f.Train(f.Out("escape-run"), data: f.Path("escape-data")), "must name a file inside the data set's folder"),

        // Resumes that do not match or cannot be read.
        ["train --resume --steps below the checkpoint"] = f => new HostileCase(f.Resume(f.Run, steps: "1"), "is at step 2, past --steps 1", "resume with at least 2 steps"),
        ["train --resume with another --size"] = f => new HostileCase(f.Resume(f.Run, size: "96"), "was trained with --size 64", "got 96"),
        ["train --resume with another --data"] = f => new HostileCase(f.Resume(f.Run, data: f.Path("other-data")), "was trained on another data set"),
        ["train --resume with another --config"] = f => new HostileCase(f.Resume(f.Run, config: f.Path("other-config.json")), "is not the configuration asked for", "num_queries 8 there, 6 now"),
        ["train --resume: truncated optimizer state"] = f => new HostileCase(f.Resume(f.Path("run-truncated-optimizer")), "optimizer.bin", "does not match the SHA-256"),
        ["train --resume: truncated optimizer state, no checksums"] = f => new HostileCase(f.Resume(f.Path("run-truncated-optimizer-old")), "optimizer.bin", "the optimizer state cannot be read"),
        ["train --resume: corrupt generator state"] = f => new HostileCase(f.Resume(f.Path("run-corrupt-rng")), "rng_state.bin", "does not match the SHA-256"),
        ["train --resume: corrupt generator state, no checksums"] = f => new HostileCase(f.Resume(f.Path("run-corrupt-rng-old")), "rng_state.bin", "the random-generator state is damaged"),
        ["train --resume: short generator state, no checksums"] = f => new HostileCase(f.Resume(f.Path("run-short-rng-old")), "rng_state.bin", "has 100 bytes"),

        // Sweeps resumed on other inputs.
        ["sweep thresholds resumed on another data set"] = f => new HostileCase(f.Sweep(f.Path("sweep-data-changed")), "journal.jsonl", "data_sha256"),
        ["sweep thresholds resumed with another model"] = f => new HostileCase(f.Sweep(f.Data, model: f.Path("model-changed.onnx")), "journal.jsonl", "model_sha256"),
    };

    [TestMethod]
    public void ACheckpointWriteThatFailsLeavesNoTemporaryFolder()
    {
        var output = F.Out("full-disk");
        try
        {
            // What a full disk does to the second file of a checkpoint.
            TrainingCheckpoint.FileWritten = path =>
            {
                if (path.EndsWith(TrainingCheckpoint.OptimizerFile, StringComparison.Ordinal)) throw new IOException("No space left on device : '" + path + "'");
            };
            HostileCli.AssertRefused(F.Inputs, F.Train(output), "No space left on device");
        }
        finally
        {
            TrainingCheckpoint.FileWritten = null;
        }
        var checkpoints = Path.Combine(output, TrainingCheckpoint.CheckpointsFolder);
        Assert.IsEmpty(Directory.Exists(checkpoints) ? Directory.GetDirectories(checkpoints) : [], "no checkpoint folder, temporary or not, is left");
    }

    [TestMethod]
    public void LeftoversOfAKilledExportAreRemovedByTheNextRun()
    {
        // What a SIGKILL during export leaves beside its output: a hidden temporary as large as the model.
        var output = F.Out("killed.onnx");
        var leftover = Path.Combine(Path.GetDirectoryName(output)!, ".killed.onnx.4242.0123456789abcdef0123456789abcdef.tmp");
        File.WriteAllBytes(leftover, new byte[100_000]);
        // The next export is refused (opset 5), yet the leftover of the killed one is gone.
        HostileCli.AssertRefused(F.Inputs, ["export", "--model", F.ModelFolder, "--out", output, "--opset", "5"], "--opset 5 is not supported");
        Assert.IsFalse(File.Exists(leftover));
    }

    [TestMethod]
    public void AResumedRunAtItsLastStepRewritesItsModelFiles()
    {
        var run = F.Path("run-finished");
        File.Delete(Path.Combine(run, "model.safetensors"));
        var outcome = HostileCli.Run(F.Resume(run));
        Assert.AreEqual(0, outcome.Code, outcome.Err);
        using var top = SafeTensorsFile.Open(Path.Combine(run, "model.safetensors"));
        Assert.AreEqual(File.ReadAllBytes(Path.Combine(run, "checkpoints", "step-00000002", "model.safetensors")).Length, new FileInfo(top.FilePath).Length);
    }

    [TestMethod]
    public void APartialInitIsWarned()
    {
        // Weights of the tiny model with one tensor left out: loaded, with a warning that counts what was not.
        var outcome = HostileCli.Run([.. F.Train(F.Out("partial-init"), steps: "1"), "--init", F.Path("partial.safetensors")]);
        Assert.AreEqual(0, outcome.Code, outcome.Err);
        StringAssert.Contains(outcome.Err, "m2f: warning: initial weights");
        StringAssert.Contains(outcome.Err, "1 absent from the file");
    }

    [TestMethod]
    public void TheGeneratorStateOfThisLibtorchPassesTheCheckAndADamagedOneFails()
    {
        using var state = random.get_rng_state();
        var bytes = state.data<byte>().ToArray();
        RngState.Check(bytes, "current");
        BitConverter.TryWriteBytes(bytes.AsSpan(8), 0);
        var e = Assert.ThrowsExactly<DataFormatException>(() => RngState.Check(bytes, "damaged"));
        StringAssert.Contains(e.Message, "left = 0");
    }

    [TestMethod]
    public void TheParameterEstimateIsCloseToTheRealCount()
    {
        foreach (var (name, config) in new[] { ("tiny", TrainingFixtures.Tiny()), ("small", Presets.Small()), ("resnet-50", Presets.Get("resnet-50")) })
        {
            using var network = new Mask2FormerForUniversalSegmentation(config);
            var real = network.parameters().Sum(p => p.numel());
            var estimate = ModelSizeEstimate.Parameters(config);
            TestContext.WriteLine($"{name}: {real:N0} parameters, estimated {estimate:N0} ({estimate / real - 1:P1})");
            Assert.AreEqual(1.0, estimate / real, 0.25, name);
        }
    }

    /// <summary>The inputs, made once: a trained run with checkpoints (and damaged copies), a model folder, data sets, tensors.</summary>
    public sealed class Fixture : IHostileFixture
    {
        public Fixture(string root)
        {
            Root = root;
            Directory.CreateDirectory(System.IO.Path.Combine(root, "out"));
            SyntheticPanopticDataset.Generate(Data, new SyntheticPanopticOptions { ImageCount = 4, Width = 64, Height = 64, MaxThingsPerImage = 2, Seed = 9 });
            File.WriteAllText(Config, TrainingFixtures.Tiny().ToJson());
            File.WriteAllText(Path("other-config.json"), (TrainingFixtures.Tiny() with { NumQueries = 6 }).ToJson());
            Directory.CreateDirectory(ModelFolder);
            File.Copy(TestPaths.Model("small_config.json"), System.IO.Path.Combine(ModelFolder, "config.json"));
            File.Copy(TestPaths.Model("small_model.safetensors"), System.IO.Path.Combine(ModelFolder, "model.safetensors"));

            var trained = HostileCli.Run(Train(Run));
            if (trained.Code != 0) throw new InvalidOperationException("the fixture run failed: " + trained.Err);
            MakeDamagedRuns();
            MakeTensors();
            MakeDataSets();
            MakeSweep();
        }

        public string Root { get; }
        public string Data => Path("data");
        public string Config => Path("tiny-config.json");
        public string ModelFolder => Path("model");
        public string Run => Path("run");

        /// <summary>Every input (all but <c>out/</c>), for the before/after snapshots.</summary>
        public IReadOnlyList<string> Inputs => Directory.GetFileSystemEntries(Root).Where(p => System.IO.Path.GetFileName(p) != "out").ToList();

        public string Path(string name) => System.IO.Path.Combine(Root, name);

        public string Out(string name) => System.IO.Path.Combine(Root, "out", name);

        public string[] Forward(string? model = null, string? inputs = null) =>
            ["forward", "--model", model ?? ModelFolder, "--inputs", inputs ?? TestPaths.Model("small_io.safetensors"), "--out", Out("logits.safetensors")];

        public string[] Train(string output, string steps = "2", string? data = null, string? config = null, string batch = "2", string size = "64") =>
        [
            "train", "--data", data ?? Data, "--config", config ?? Config, "--steps", steps, "--batch", batch, "--size", size, "--points", "64",
            "--checkpoint-every", "1", "--report-every", "1", "--out", output,
        ];

        public string[] Resume(string run, string steps = "2", string? data = null, string? config = null, string size = "64") => [.. Train(run, steps, data, config, size: size), "--resume"];

        public string[] Sweep(string data, string? model = null) =>
            ["sweep", "thresholds", "--model", model ?? Path("model.onnx"), "--data", data, "--out", Path("sweep"), "--object-mask-thresholds", "0.5", "--overlap-thresholds", "0.8"];

        private void MakeDamagedRuns()
        {
            string Copy(string name, Action<string> damage, bool withoutChecksums)
            {
                var copy = Path(name);
                HostileCli.CopyFolder(Run, copy);
                var checkpoint = System.IO.Path.Combine(copy, "checkpoints", "step-00000002");
                damage(checkpoint);
                if (withoutChecksums)
                {
                    // As a checkpoint of an older version: no checksums to catch the damage.
                    var statePath = System.IO.Path.Combine(checkpoint, "trainer_state.json");
                    var state = JsonNode.Parse(File.ReadAllText(statePath))!.AsObject();
                    state.Remove("sha256");
                    File.WriteAllText(statePath, state.ToJsonString());
                }
                return copy;
            }
            void Truncate(string checkpoint) => File.WriteAllBytes(System.IO.Path.Combine(checkpoint, "optimizer.bin"),
                File.ReadAllBytes(System.IO.Path.Combine(checkpoint, "optimizer.bin"))[..100_000]);
            void Scramble(string checkpoint) => File.WriteAllBytes(System.IO.Path.Combine(checkpoint, "rng_state.bin"),
                Enumerable.Range(0, 5056).Select(i => (byte)(i * 7919 % 253 + 1)).ToArray());
            Copy("run-truncated-optimizer", Truncate, withoutChecksums: false);
            Copy("run-truncated-optimizer-old", Truncate, withoutChecksums: true);
            Copy("run-corrupt-rng", Scramble, withoutChecksums: false);
            Copy("run-corrupt-rng-old", Scramble, withoutChecksums: true);
            Copy("run-short-rng-old", c => File.WriteAllBytes(System.IO.Path.Combine(c, "rng_state.bin"), new byte[100]), withoutChecksums: true);
            Copy("run-finished", _ => { }, withoutChecksums: false);
        }

        private void MakeTensors()
        {
            using var scope = NewDisposeScope();
            SafeTensorsWriter.Save(Path("empty-batch.safetensors"), new Dictionary<string, Tensor> { ["pixel_values"] = zeros(0, 3, 96, 160) });
            var pixels = zeros(1, 3, 64, 64);
            pixels[0, 1, 5, 7] = tensor(float.NaN);
            SafeTensorsWriter.Save(Path("nan-pixels.safetensors"), new Dictionary<string, Tensor> { ["pixel_values"] = pixels });

            // A header padded with spaces, its declared length then cut by 3: the tensors shift onto
            // the padding and 3 bytes at the end belong to none of them.
            var header = Encoding.UTF8.GetBytes("""{"pixel_values":{"dtype":"F32","shape":[1,3,32,32],"data_offsets":[0,12288]}}""" + "        ");
            var file = new byte[8 + header.Length + 12288];
            BitConverter.TryWriteBytes(file.AsSpan(0, 8), (ulong)(header.Length - 3));
            header.CopyTo(file, 8);
            File.WriteAllBytes(Path("short-header.safetensors"), file);

            // The small model with one NaN weight.
            Directory.CreateDirectory(Path("nan-model"));
            File.Copy(System.IO.Path.Combine(ModelFolder, "config.json"), System.IO.Path.Combine(Path("nan-model"), "config.json"));
            var weights = new Dictionary<string, Tensor>();
            using (var source = SafeTensorsFile.Open(System.IO.Path.Combine(ModelFolder, "model.safetensors")))
                foreach (var entry in source.Entries) weights[entry.Name] = source.ReadTensor(entry);
            var first = weights.Keys.First(k => weights[k].dtype == ScalarType.Float32 && weights[k].numel() > 1);
            weights[first].view(-1)[0] = tensor(float.NaN);
            SafeTensorsWriter.Save(System.IO.Path.Combine(Path("nan-model"), "model.safetensors"), weights);

            // A configuration whose weights would take terabytes.
            Directory.CreateDirectory(Path("absurd-model"));
            var config = JsonNode.Parse(File.ReadAllText(System.IO.Path.Combine(ModelFolder, "config.json")))!.AsObject();
            config["hidden_dim"] = 4_000_000;
            File.WriteAllText(System.IO.Path.Combine(Path("absurd-model"), "config.json"), config.ToJsonString());
            File.Copy(System.IO.Path.Combine(ModelFolder, "model.safetensors"), System.IO.Path.Combine(Path("absurd-model"), "model.safetensors"));

            SafeTensorsWriter.Save(Path("foreign.safetensors"), new Dictionary<string, Tensor> { ["backbone.conv1.weight"] = zeros(4, 3, 3, 3) });
            var tiny = new Dictionary<string, Tensor>();
            using (var trained = SafeTensorsFile.Open(System.IO.Path.Combine(Run, "model.safetensors")))
                foreach (var entry in trained.Entries.Skip(1)) tiny[entry.Name] = trained.ReadTensor(entry);
            SafeTensorsWriter.Save(Path("partial.safetensors"), tiny);
        }

        private void MakeDataSets()
        {
            var set = CocoPanopticDataset.Load(System.IO.Path.Combine(Data, "panoptic.json"));
            HostileCli.CopyFolder(Data, Path("crowd-data"));
            new CocoPanopticDataset(set.Images, set.Annotations.Select(a => a with { Segments = a.Segments.Select(s => s with { IsCrowd = true }).ToArray() }).ToArray(), set.Categories)
                .Save(System.IO.Path.Combine(Path("crowd-data"), "panoptic.json"));
            HostileCli.CopyFolder(Data, Path("escape-data"));
            var json = File.ReadAllText(System.IO.Path.Combine(Data, "panoptic.json"));
            File.WriteAllText(System.IO.Path.Combine(Path("escape-data"), "panoptic.json"), json.Replace("\"file_name\":\"000002.png\"", "\"file_name\":\"../../../../etc/passwd\"", StringComparison.Ordinal));
            SyntheticPanopticDataset.Generate(Path("other-data"), new SyntheticPanopticOptions { ImageCount = 4, Width = 64, Height = 64, MaxThingsPerImage = 2, Seed = 10 });
        }

        private void MakeSweep()
        {
            var export = HostileCli.Run("export", "--model", Run, "--out", Path("model.onnx"), "--fixed", "64x64");
            if (export.Code != 0) throw new InvalidOperationException("the fixture export failed: " + export.Err);
            var sweep = HostileCli.Run(Sweep(Data));
            if (sweep.Code != 0) throw new InvalidOperationException("the fixture sweep failed: " + sweep.Err);
            // The same data set with its JSON re-saved (other bytes), and the model with a doc_string appended (field 6 of ModelProto).
            HostileCli.CopyFolder(Data, Path("sweep-data-changed"));
            File.AppendAllText(System.IO.Path.Combine(Path("sweep-data-changed"), "panoptic.json"), "\n");
            File.WriteAllBytes(Path("model-changed.onnx"), [.. File.ReadAllBytes(Path("model.onnx")), 0x32, 0x03, (byte)'n', (byte)'e', (byte)'w']);
        }
    }
}
