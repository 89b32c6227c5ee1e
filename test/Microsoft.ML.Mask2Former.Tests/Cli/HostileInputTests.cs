using System.Diagnostics;
using Microsoft.ML.Data;
using Microsoft.ML.Mask2Former.Formats;
using Microsoft.ML.Mask2Former.Synthetic;
using Microsoft.ML.Mask2Former.Tests.Formats;
using static Microsoft.ML.Mask2Former.Tests.Scoring.ScoringTestData;

namespace Microsoft.ML.Mask2Former.Tests.Cli;

/// <summary>
/// Careless and hostile inputs to every <c>m2f</c> command that needs no libtorch: outputs
/// that would overwrite inputs (the same file, the same folder, through a link or "..", a model
/// folder's weights), unloadable ONNX models, impossible sizes and thread counts, FIFOs, image
/// bombs, truncated photos, data-set file names outside their folder, unwritable outputs. Each
/// case ends with exit 2 and one line naming the problem, within seconds, leaving every input
/// byte-identical (<see cref="HostileCli.AssertRefused"/>). The inputs are made here, once.
/// </summary>
[TestClass]
public sealed class HostileInputTests : HostileCaseTests<HostileInputTests, HostileInputTests.Fixture>, IHostileCases<HostileInputTests.Fixture>
{
    public static Fixture MakeFixture(string root) => new(root);

    public static IReadOnlyDictionary<string, Func<Fixture, HostileCase>> Cases { get; } = new Dictionary<string, Func<Fixture, HostileCase>>
    {
        // Outputs that would destroy inputs.
        ["segment --out-folder = --images"] = f => new HostileCase(f.Segment(outFolder: f.Images), "--out-folder", "would overwrite the input --images", "they are the same folder"),
        ["segment --out-folder inside --images"] = f => new HostileCase(f.Segment(outFolder: Path.Combine(f.Images, "pred")), "it lies inside that folder"),
        ["segment --out-json = --labels"] = f => new HostileCase(f.Segment(outJson: f.Labels, extra: ["--labels", f.Labels]), "--out-json", "--labels", "they are the same file"),
        ["render --out = --png-folder through a link"] = f => new HostileCase(["render", "--json", f.Json, "--png-folder", f.Maps, "--out", Path.Combine(f.Link, "panoptic")],
            "would overwrite the input --png-folder", "both lead to"),
        ["render --out = --png-folder through '..'"] = f => new HostileCase(["render", "--json", f.Json, "--png-folder", f.Maps, "--out", Path.Combine(f.Images, "..", "panoptic")],
            "they are the same folder"),
        ["eval panoptic --json = --gt-json"] = f => new HostileCase([.. f.EvalPanoptic(f.Data), "--json", f.Json], "--json", "--gt-json", "they are the same file"),
        ["eval panoptic --chart = a prediction PNG"] = f => new HostileCase([.. f.EvalPanoptic(f.Data), "--chart", Path.Combine(f.Maps, "000001.png")],
            "--chart", "it lies inside that folder"),
        ["eval instances --json = --results"] = f => new HostileCase(["eval", "instances", "--gt", f.InstancesGt, "--results", f.Detections, "--iou-type", "bbox", "--json", f.Detections],
            "--json", "--results", "they are the same file"),
        ["eval semantic --json inside --gt-folder"] = f => new HostileCase(["eval", "semantic", "--gt-folder", f.Maps, "--pred-folder", f.Maps, "--num-classes", "5", "--json", Path.Combine(f.Maps, "miou.json")],
            "--json", "lies inside"),
        ["forward --out = --inputs"] = f => new HostileCase(["forward", "--model", f.ModelFolder, "--inputs", f.PixelValues, "--out", f.PixelValues], "they are the same file"),
        ["forward --out = the model's weights"] = f => new HostileCase(["forward", "--model", f.ModelFolder, "--inputs", f.PixelValues, "--out", Path.Combine(f.ModelFolder, "model.safetensors")],
            "--out", "--model", "it is the model's model.safetensors"),
        ["export --out = the model's weights"] = f => new HostileCase(["export", "--model", f.ModelFolder, "--out", Path.Combine(f.ModelFolder, "model.safetensors")], "it is the model's model.safetensors"),
        ["train --out = --data"] = f => new HostileCase(["train", "--data", f.Data, "--out", f.Data], "--out", "--data", "they are the same folder"),
        ["train --init inside --out"] = f => new HostileCase(["train", "--data", f.Data, "--out", f.ModelFolder, "--init", Path.Combine(f.ModelFolder, "model.safetensors")],
            "--init", "the command writes model.safetensors into that folder"),
        ["sweep thresholds --out = --data"] = f => new HostileCase(["sweep", "thresholds", "--model", f.Model, "--data", f.Data, "--out", f.Data], "they are the same folder"),

        // Models ONNX Runtime cannot use.
        ["segment: random bytes as the model"] = f => new HostileCase(f.Segment(model: f.Hostile("random.onnx")), "random.onnx", "not a loadable ONNX model"),
        ["segment: an empty model"] = f => new HostileCase(f.Segment(model: f.Hostile("empty.onnx")), "empty.onnx", "empty, or not a regular file"),
        ["segment: a truncated model"] = f => new HostileCase(f.Segment(model: f.Hostile("truncated.onnx")), "truncated.onnx", "not a loadable ONNX model"),
        ["segment: outputs of the wrong rank"] = f => new HostileCase(f.Segment(model: f.Hostile("wrong-rank.onnx"), inputSize: null), "wrong-rank.onnx", "is not a Mask2Former model"),
        ["segment: outputs missing"] = f => new HostileCase(f.Segment(model: f.Hostile("no-outputs.onnx"), inputSize: null), "no-outputs.onnx", "class_queries_logits"),
        ["segment: NaN logits for every image"] = f => new HostileCase(f.Segment(model: f.Hostile("nan.onnx"), inputSize: null), "NaN or infinite logits for every image"),
        ["segment: a FIFO as the model"] = f => new HostileCase(f.Segment(model: f.Hostile("fifo.onnx")), "--model", "not a regular file"),

        // Impossible sizes and counts.
        ["segment --input-size 100000x100000"] = f => new HostileCase(f.Segment(inputSize: "100000x100000"), "--input-size 100000x100000 is too large"),
        ["segment --input-size 8000x8000"] = f => new HostileCase(f.Segment(inputSize: "8000x8000"), "--input-size 8000x8000 is too large"),
        ["export --fixed 100000x100000"] = f => new HostileCase(["export", "--model", f.ModelFolder, "--out", f.Out("x.onnx"), "--fixed", "100000x100000"], "--fixed 100000x100000 is too large"),
        ["train --size 100000"] = f => new HostileCase(["train", "--data", f.Data, "--out", f.Out("run"), "--size", "100000"], "--size 100000 is too large"),
        ["segment --threads 100000"] = f => new HostileCase(f.Segment(extra: ["--threads", "100000"]), "--threads must be in 1.."),
        ["forward --threads 0"] = f => new HostileCase(["forward", "--model", f.ModelFolder, "--inputs", f.PixelValues, "--out", f.Out("logits.safetensors"), "--threads", "0"], "--threads must be in 1.."),
        ["forward --threads -3"] = f => new HostileCase(["forward", "--model", f.ModelFolder, "--inputs", f.PixelValues, "--out", f.Out("logits.safetensors"), "--threads", "-3"], "--threads must be in 1.."),
        ["eval panoptic --threads 100000"] = f => new HostileCase(f.EvalPanoptic(f.Data, threads: "100000"), "--threads must be in 1.."),
        ["segment --labels with object_mask_threshold 7"] = f => new HostileCase(f.Segment(extra: ["--labels", f.Hostile("labels-threshold-7.json")]), "object_mask_threshold", "must be in [0, 1]"),
        ["a usage error is one line"] = f => new HostileCase(["train", "--data", f.Data, "--out", f.Out("run"), "--size", "1", "--size", "2"], "--size", "(see 'm2f train --help')"),

        // Files that are not what they claim, or hang a reader.
        ["segment: a FIFO named .png"] = f => new HostileCase(f.Segment(images: f.Hostile("fifo-images")), "a.png", "not a regular file"),
        ["eval panoptic: a FIFO as a ground-truth PNG"] = f => new HostileCase(f.EvalPanoptic(f.Hostile("fifo-data")), "000001.png", "not a regular file"),
        ["segment: a PNG declaring 20000x20000 pixels"] = f => new HostileCase(f.Segment(images: f.Hostile("bomb")), "bomb.png", "declares 20000×20000 pixels"),
        ["render: a 16000x16000 photo for a small segment map"] = f => new HostileCase(["render", "--json", f.Json, "--png-folder", f.Maps, "--images", f.Hostile("big-photos"), "--out", f.Out("overlays")],
            "000001.png", "16000×16000 but its segment map is 64×64"),
        ["segment: a truncated JPEG"] = f => new HostileCase(f.Segment(model: f.Constant, images: f.Hostile("truncated-jpeg"), inputSize: null), "photo.jpg", "truncated"),
        ["segment: an image that is not one"] = f => new HostileCase(f.Segment(images: f.Hostile("corrupt-images"), outFolder: f.Out("corrupt-pred")), "000002.png", "not an image SkiaSharp can decode"),
        ["segment: two images with one image id"] = f => new HostileCase(f.Segment(images: f.Hostile("same-id")), "'0001.png' and '1.png'", "image id 1"),
        ["eval panoptic: file_name ../../etc/passwd"] = f => new HostileCase(f.EvalPanoptic(f.Hostile("escape")), "file_name", "../../../../etc/passwd", "must name a file inside the data set's folder"),
        ["render: file_name ../../etc/passwd"] = f => new HostileCase(["render", "--json", Path.Combine(f.Hostile("escape"), "panoptic.json"), "--png-folder", f.Maps, "--out", f.Out("escape-overlays")],
            "must name a file inside the data set's folder"),
        ["eval panoptic: predictions of an unfinished segment run"] = f => new HostileCase(f.EvalPanoptic(f.Data, pred: f.Hostile("unfinished")), "--pred-folder", "m2f-incomplete.txt", "m2f segment did not finish"),

        // Outputs that cannot be written.
        ["segment --out-folder is an existing file"] = f => new HostileCase(f.Segment(outFolder: f.Hostile("a-file")), "--out-folder", "is a file; a folder is expected"),
        ["export --out under a file"] = f => new HostileCase(["export", "--model", f.ModelFolder, "--out", Path.Combine(f.Hostile("a-file"), "x.onnx")], "cannot be created", "is a file, not a folder"),
        ["eval panoptic --json is a folder"] = f => new HostileCase([.. f.EvalPanoptic(f.Data), "--json", f.Hostile("unfinished")], "--json", "is a folder; a file name is expected"),
        ["sweep thresholds --out is a file"] = f => new HostileCase(["sweep", "thresholds", "--model", f.Model, "--data", f.Data, "--out", f.Hostile("a-file")], "--out", "is a file; a folder is expected"),
        ["train --out under a file"] = f => new HostileCase(["train", "--data", f.Data, "--out", Path.Combine(f.Hostile("a-file"), "run")], "is a file, not a folder"),
        ["segment --images is a file"] = f => new HostileCase(f.Segment(images: f.Hostile("a-file")), "--images", "is a file; a folder is expected"),
    };

    [TestMethod]
    public void AFailedSegmentRunLeavesAMarkerThatStopsEvaluation()
    {
        var output = F.Out("marked-pred");
        HostileCli.AssertRefused(F.Inputs, F.Segment(model: F.Constant, images: F.Hostile("truncated-second"), outFolder: output, outJson: output + ".json", inputSize: null), "000002.jpg", "truncated");
        Assert.IsTrue(File.Exists(Path.Combine(output, "m2f-incomplete.txt")), "the partial output is marked");
        Assert.IsTrue(File.Exists(Path.Combine(output, "000001.png")), "the first image was segmented before the failure");
        Assert.IsFalse(File.Exists(output + ".json"), "the JSON is written last");
        HostileCli.AssertRefused(F.Inputs, F.EvalPanoptic(F.Data, pred: output), "m2f-incomplete.txt");

        // The same command on good images finishes and removes the marker.
        var good = HostileCli.Run(F.Segment(model: F.Constant, outFolder: output, outJson: output + ".json", inputSize: null));
        Assert.AreEqual(0, good.Code, good.Err);
        Assert.IsFalse(File.Exists(Path.Combine(output, "m2f-incomplete.txt")));
    }

    [TestMethod]
    public void AFailedRenderRunLeavesAMarker()
    {
        var output = F.Out("marked-overlays");
        // The photo folder lacks the second image's photo: the first overlay is written, then the run stops.
        HostileCli.AssertRefused(F.Inputs, ["render", "--json", F.Json, "--png-folder", F.Maps, "--images", F.Hostile("one-photo"), "--out", output], "no image for");
        Assert.IsTrue(File.Exists(Path.Combine(output, "m2f-incomplete.txt")));
        Assert.IsTrue(File.Exists(Path.Combine(output, "000001.png")));
    }

    [TestMethod]
    public void LeftoversOfAKilledWriteAreRemovedByTheNextRun()
    {
        // What a SIGKILL during an atomic write leaves: a hidden temporary beside the output.
        var output = F.Out("pq.json");
        var leftover = Path.Combine(Path.GetDirectoryName(output)!, ".pq.json.4242.0123456789abcdef0123456789abcdef.tmp");
        File.WriteAllBytes(leftover, new byte[1000]);
        var folder = F.Out("leftover-pred");
        Directory.CreateDirectory(folder);
        var inFolder = Path.Combine(folder, ".000001.png.4242.0123456789abcdef0123456789abcdef.tmp");
        File.WriteAllBytes(inFolder, new byte[1000]);
        var keep = Path.Combine(folder, "notes.tmp");
        File.WriteAllText(keep, "not ours");

        var eval = HostileCli.Run([.. F.EvalPanoptic(F.Data), "--json", output]);
        Assert.AreEqual(0, eval.Code, eval.Err);
        Assert.IsFalse(File.Exists(leftover));
        var segment = HostileCli.Run(F.Segment(model: F.Constant, outFolder: folder, inputSize: null));
        Assert.AreEqual(0, segment.Code, segment.Err);
        Assert.IsFalse(File.Exists(inFolder));
        Assert.IsTrue(File.Exists(keep), "only the temporaries of atomic writes are removed");
    }

    [TestMethod]
    public void UnreadableImagesAreReportedWithTheirReason()
    {
        var e = Assert.ThrowsExactly<DataFormatException>(() => ImageFile.Load(Path.Combine(F.Hostile("corrupt-images"), "000002.png")));
        Assert.DoesNotContain("Invalid path", e.Message);
        StringAssert.Contains(e.Message, "not JPEG, PNG, WebP, BMP or GIF data");
    }

    [TestMethod]
    public void SweepHelpNamesTheFilesItWrites()
    {
        var help = HostileCli.Run("sweep", "thresholds", "--help");
        Assert.AreEqual(0, help.Code);
        StringAssert.Contains(help.Out, "panoptic-thresholds.md");
        StringAssert.Contains(help.Out, "journal.jsonl");
        Assert.DoesNotContain("sweep.md", help.Out);
    }

    [TestMethod]
    public void EveryFileOrFolderOptionHasARoleInThePathCheck()
    {
        var missing = new List<string>();
        void Walk(System.CommandLine.Command command, string name)
        {
            foreach (var sub in command.Subcommands) Walk(sub, name.Length == 0 ? sub.Name : $"{name} {sub.Name}");
            if (command.Subcommands.Count > 0) return;
            var roles = global::Mask2Former.Cli.CommandPaths.Roles.GetValueOrDefault(name);
            foreach (var option in command.Options.Where(o => o.ValueType == typeof(FileInfo) || o.ValueType == typeof(DirectoryInfo)))
                if (roles is null || !roles.ContainsKey(option.Name)) missing.Add($"{name} {option.Name}");
        }
        Walk(global::Mask2Former.Cli.Program.BuildRoot(TextWriter.Null, TextWriter.Null), "");
        Assert.IsEmpty(missing, "options naming paths without a role in CommandPaths: " + string.Join(", ", missing));
    }

    /// <summary>
    /// The two image bombs in a child process, whose peak resident memory is sampled while it runs:
    /// the refusal comes from the image header, before any pixel memory is allocated.
    /// </summary>
    [TestMethod]
    [Timeout(120_000, CooperativeCancellation = true)]
    public void ImageBombsAreRefusedWithinBoundedMemory()
    {
        if (!OperatingSystem.IsLinux()) Assert.Inconclusive("peak memory is read from /proc");
        foreach (var args in new[]
        {
            F.Segment(images: F.Hostile("bomb")),
            ["render", "--json", F.Json, "--png-folder", F.Maps, "--images", F.Hostile("big-photos"), "--out", F.Out("bomb-overlays")],
        })
        {
            var (code, output, peak) = RunChild(args);
            TestContext.WriteLine($"{args[0]}: exit {code}, peak {peak / 1e6:F0} MB: {output.Trim()}");
            Assert.AreEqual(2, code, output);
            // The runtime, ONNX Runtime and the model take about 200 MB; a decoded bomb would take 1.6 GB (segment) or 1 GB (render).
            Assert.IsLessThan(600_000_000L, peak, $"peak resident memory {peak:N0} bytes");
        }
    }

    private static (int Code, string Output, long PeakBytes) RunChild(string[] args)
    {
        var cli = Path.Combine(AppContext.BaseDirectory, "m2f.dll");
        Assert.IsTrue(File.Exists(cli), $"the m2f CLI is not built beside the tests ({cli})");
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add(cli);
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment["OMP_WAIT_POLICY"] = "PASSIVE";
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        long peak = 0;
        while (!process.HasExited)
        {
            try
            {
                foreach (var line in File.ReadLines($"/proc/{process.Id}/status"))
                    if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                        peak = Math.Max(peak, 1024 * long.Parse(line["VmHWM:".Length..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture));
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
            Thread.Sleep(5);
        }
        process.WaitForExit();
        return (process.ExitCode, stdout.Result + stderr.Result, peak);
    }

    /// <summary>The inputs every case may use, made once; outputs go under <c>out/</c>, which is not an input.</summary>
    public sealed class Fixture : IHostileFixture
    {
        public Fixture(string root)
        {
            Root = root;
            SyntheticPanopticDataset.Generate(Data, new SyntheticPanopticOptions { ImageCount = 3, Width = 64, Height = 64, Seed = 5, MaxThingsPerImage = 2 });
            File.Copy(SmallModel, Model);
            Directory.CreateDirectory(ModelFolder);
            File.Copy(Path.Combine(TestPaths.Reference, "model", "small_config.json"), Path.Combine(ModelFolder, "config.json"));
            File.Copy(Path.Combine(TestPaths.Reference, "model", "small_model.safetensors"), Path.Combine(ModelFolder, "model.safetensors"));
            File.Copy(SmallIo, PixelValues);
            File.Copy(Path.Combine(TestPaths.EvaluationCase("sample"), "instances_gt.json"), InstancesGt);
            File.Copy(Path.Combine(TestPaths.EvaluationCase("sample"), "detections_bbox.json"), Detections);
            File.WriteAllText(Labels, """{"labels": [{"id": 1, "name": "a", "isthing": 1}]}""");
            Directory.CreateSymbolicLink(Link, Data);
            MakeHostileInputs();
            foreach (var file in Directory.GetFiles(root, "*", SearchOption.AllDirectories)) File.SetAttributes(file, FileAttributes.Normal);
            Directory.CreateDirectory(Path.Combine(root, "out"));
        }

        public string Root { get; }
        public string Data => Path.Combine(Root, "data");
        public string Images => Path.Combine(Data, "images");
        public string Maps => Path.Combine(Data, "panoptic");
        public string Json => Path.Combine(Data, "panoptic.json");
        public string Link => Path.Combine(Root, "data-link");
        public string Model => Path.Combine(Root, "model.onnx");
        public string ModelFolder => Path.Combine(Root, "model");
        public string PixelValues => Path.Combine(Root, "pixel_values.safetensors");
        public string InstancesGt => Path.Combine(Root, "instances_gt.json");
        public string Detections => Path.Combine(Root, "detections_bbox.json");
        public string Labels => Path.Combine(Root, "labels.json");

        /// <summary>A model of constant, finite logits: it loads in a moment, for cases about the images.</summary>
        public string Constant => Hostile("constant.onnx");

        /// <summary>Every input (all but <c>out/</c>), for the before/after snapshots.</summary>
        public IReadOnlyList<string> Inputs => Directory.GetFileSystemEntries(Root).Where(p => Path.GetFileName(p) is not ("out" or "data-link")).ToList();

        public string Hostile(string name) => Path.Combine(Root, "hostile", name);

        public string Out(string name) => Path.Combine(Root, "out", name);

        public string[] Segment(string? model = null, string? images = null, string? outJson = null, string? outFolder = null, string? inputSize = "64x64", string[]? extra = null) =>
        [
            "segment", "--model", model ?? Model, "--images", images ?? Images, "--out-json", outJson ?? Out("pred.json"), "--out-folder", outFolder ?? Out("pred"),
            .. inputSize is null ? Array.Empty<string>() : ["--input-size", inputSize], .. extra ?? ["--threads", "1"],
        ];

        public string[] EvalPanoptic(string gt, string? pred = null, string threads = "1") =>
        [
            "eval", "panoptic", "--gt-json", Path.Combine(gt, "panoptic.json"), "--gt-folder", Path.Combine(gt, "panoptic"),
            "--pred-json", Path.Combine(pred ?? gt, pred is null ? "panoptic.json" : "../" + Path.GetFileName(pred) + ".json"), "--pred-folder", pred is null ? Path.Combine(gt, "panoptic") : pred, "--threads", threads,
        ];

        private void MakeHostileInputs()
        {
            var hostile = Path.Combine(Root, "hostile");
            Directory.CreateDirectory(hostile);
            var model = File.ReadAllBytes(Model);
            File.WriteAllBytes(Hostile("random.onnx"), Enumerable.Range(0, 1000).Select(i => (byte)(i * 7919 % 251)).ToArray());
            File.WriteAllBytes(Hostile("empty.onnx"), []);
            File.WriteAllBytes(Hostile("truncated.onnx"), model[..100_000]);
            File.WriteAllBytes(Hostile("wrong-rank.onnx"), ConstantModel(32, 32, [("class_queries_logits", [3, 3], Random(9, 1)), ("masks_queries_logits", [1, 3, 64], Random(192, 2))]));
            File.WriteAllBytes(Hostile("no-outputs.onnx"), ConstantModel(32, 32, [("logits", [1, 3, 3], Random(9, 1))]));
            File.WriteAllBytes(Hostile("nan.onnx"), ConstantModel(32, 32,
                [("class_queries_logits", [1, 3, 3], Enumerable.Repeat(float.NaN, 9).ToArray()), ("masks_queries_logits", [1, 3, 8, 8], Random(192, 2))]));
            File.WriteAllBytes(Constant, ConstantModel(32, 32, [("class_queries_logits", [1, 3, 3], Random(9, 1)), ("masks_queries_logits", [1, 3, 8, 8], Random(192, 2))]));
            File.WriteAllText(Hostile("labels-threshold-7.json"), """{"labels": [{"id": 1, "name": "a", "isthing": 1}], "object_mask_threshold": 7}""");
            File.WriteAllText(Hostile("a-file"), "a file where a folder is expected");

            var fifo = HostileCli.TryMakeFifo(Hostile("fifo.onnx"));
            Directory.CreateDirectory(Hostile("fifo-images"));
            fifo &= HostileCli.TryMakeFifo(Path.Combine(Hostile("fifo-images"), "a.png"));
            HostileCli.CopyFolder(Data, Hostile("fifo-data"));
            File.Delete(Path.Combine(Hostile("fifo-data"), "panoptic", "000001.png"));
            fifo &= HostileCli.TryMakeFifo(Path.Combine(Hostile("fifo-data"), "panoptic", "000001.png"));
            if (!fifo) throw new InvalidOperationException("mkfifo failed: the FIFO cases cannot be built here");

            // A small PNG whose header declares 20000×20000 pixels (1.6 GB decoded), and one of 16000×16000.
            var row = new byte[1 + 3 * 64];
            Directory.CreateDirectory(Hostile("bomb"));
            File.WriteAllBytes(Path.Combine(Hostile("bomb"), "bomb.png"),
                PngTestFiles.Assemble(PngTestFiles.Ihdr(20000, 20000, 8, 2), PngTestFiles.Chunk("IDAT", PngTestFiles.Zlib(row)), PngTestFiles.Iend()));
            Directory.CreateDirectory(Hostile("big-photos"));
            File.WriteAllBytes(Path.Combine(Hostile("big-photos"), "000001.png"),
                PngTestFiles.Assemble(PngTestFiles.Ihdr(16000, 16000, 8, 2), PngTestFiles.Chunk("IDAT", PngTestFiles.Zlib(row)), PngTestFiles.Iend()));

            Directory.CreateDirectory(Hostile("truncated-jpeg"));
            var jpeg = Path.Combine(Hostile("truncated-jpeg"), "photo.jpg");
            using (var image = MLImage.CreateFromFile(Path.Combine(Images, "000001.png"))) image.Save(jpeg);
            var bytes = File.ReadAllBytes(jpeg);
            File.WriteAllBytes(jpeg, bytes[..(bytes.Length * 2 / 3)]);
            // A good first image, then a truncated one: the failure comes after the first segment map is written.
            Directory.CreateDirectory(Hostile("truncated-second"));
            File.Copy(Path.Combine(Images, "000001.png"), Path.Combine(Hostile("truncated-second"), "000001.png"));
            File.Copy(jpeg, Path.Combine(Hostile("truncated-second"), "000002.jpg"));

            Directory.CreateDirectory(Hostile("corrupt-images"));
            File.Copy(Path.Combine(Images, "000001.png"), Path.Combine(Hostile("corrupt-images"), "000001.png"));
            File.WriteAllBytes(Path.Combine(Hostile("corrupt-images"), "000002.png"), Enumerable.Range(0, 5000).Select(i => (byte)(i * 31 % 256)).ToArray());
            Directory.CreateDirectory(Hostile("one-photo"));
            File.Copy(Path.Combine(Images, "000001.png"), Path.Combine(Hostile("one-photo"), "000001.png"));

            Directory.CreateDirectory(Hostile("same-id"));
            File.Copy(Path.Combine(Images, "000001.png"), Path.Combine(Hostile("same-id"), "1.png"));
            File.Copy(Path.Combine(Images, "000002.png"), Path.Combine(Hostile("same-id"), "0001.png"));

            HostileCli.CopyFolder(Data, Hostile("escape"));
            var json = File.ReadAllText(Json);
            File.WriteAllText(Path.Combine(Hostile("escape"), "panoptic.json"), json.Replace("\"file_name\":\"000001.png\"", "\"file_name\":\"../../../../etc/passwd\"", StringComparison.Ordinal));
            if (!File.ReadAllText(Path.Combine(Hostile("escape"), "panoptic.json")).Contains("etc/passwd", StringComparison.Ordinal))
                throw new InvalidOperationException("the escape fixture did not change the JSON: " + json[..200]);

            HostileCli.CopyFolder(Maps, Hostile("unfinished"));
            File.WriteAllText(Path.Combine(Hostile("unfinished"), "m2f-incomplete.txt"), "m2f segment started writing here at 2026-01-01 00:00:00 UTC and has not finished.\n");
            File.Copy(Json, Hostile("unfinished.json"));
        }
    }
}
