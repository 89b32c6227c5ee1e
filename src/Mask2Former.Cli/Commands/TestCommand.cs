using System.CommandLine;
using System.Diagnostics;
using Mask2Former.Cli.Sharding;
using Microsoft.ML.Data;
using Microsoft.ML.Mask2Former.Evaluation;
using Microsoft.ML.Mask2Former.Formats;
using Microsoft.ML.Mask2Former.Scoring;

namespace Mask2Former.Cli
{
    internal static partial class CommandHooks
    {
        static partial void AddTest(RootCommand root, TextWriter stdout, TextWriter stderr) =>
            root.Subcommands.Add(Commands.TestCommand.Create(stdout, stderr));
    }
}

namespace Mask2Former.Cli.Commands
{
    /// <summary>
    /// <c>m2f test --model F.onnx|DIR --data ROOT --eval pq bbox segm [miou]</c>: the seed's test
    /// command. One forward pass per image gives panoptic and instance (and semantic) predictions,
    /// written in COCO formats; the evaluators run on them and the panoptic table and the mAP lines
    /// are printed as mmdetection's <c>tools/test.py</c> prints them. With <c>--shard I/N</c> (or a
    /// Kubernetes Indexed Job's / Slurm array's variables) only every N-th image is run and the
    /// shard writes its predictions and mergeable accumulators for <c>m2f merge</c>.
    /// </summary>
    internal static class TestCommand
    {
        private static readonly string[] KnownMetrics = ["pq", "bbox", "segm", "miou"];

        public static Command Create(TextWriter stdout, TextWriter stderr)
        {
            var predictorOptions = new PredictorOptionSet();
            var data = new Option<DirectoryInfo?>("--data")
            {
                Description = "A COCO layout: annotations/panoptic_val2017.json, annotations/panoptic_val2017/, annotations/instances_val2017.json, val2017/ (each overridable).",
            };
            var metrics = new Option<string[]>("--eval")
            {
                Description = "What to evaluate: pq, bbox, segm, miou (default: pq bbox segm, the seed's).",
                AllowMultipleArgumentsPerToken = true,
                DefaultValueFactory = _ => ["pq", "bbox", "segm"],
            };
            var panopticJson = new Option<FileInfo?>("--panoptic-json") { Description = "Panoptic ground truth (default ROOT/annotations/panoptic_val2017.json)." };
            var panopticFolder = new Option<DirectoryInfo?>("--panoptic-folder") { Description = "Its segment-map PNGs (default ROOT/annotations/panoptic_val2017)." };
            var instancesJson = new Option<FileInfo?>("--instances-json") { Description = "Instance ground truth (default ROOT/annotations/instances_val2017.json)." };
            var images = new Option<DirectoryInfo?>("--images") { Description = "The photos (default ROOT/val2017)." };
            var output = new Option<DirectoryInfo?>("--out")
            {
                Description = "Where predictions (panoptic.json + panoptic/, instances.bbox.json, instances.segm.json) and evaluation.json go; a shard writes into <out>/shard-I-of-N. Default: a temporary folder, removed at the end (required with shards).",
            };
            var json = new Option<FileInfo?>("--json") { Description = "Also write the metrics as JSON to this file." };
            var shard = new Option<string?>("--shard") { Description = "Run shard I of N (images whose position in image-id order is I modulo N), e.g. 0/4." };
            var shards = new Option<int?>("--shards") { Description = $"The number of shards, with a Kubernetes Indexed Job's JOB_COMPLETION_INDEX (or set {ShardSpec.ShardCountVariable})." };

            var command = new Command("test", "Run a Mask2Former on a COCO validation set and evaluate it (PQ, box and mask AP, mIoU) from one forward pass per image, as the seed's test command; shardable across processes and machines (m2f merge).")
            {
                data, metrics, panopticJson, panopticFolder, instancesJson, images, output, json, shard, shards,
            };
            foreach (var option in predictorOptions.All) command.Options.Add(option);
            command.SetAction(parse => CliExit.Guard(stderr, () =>
            {
                var wanted = parse.GetValue(metrics)!.SelectMany(m => m.Split(',', StringSplitOptions.RemoveEmptyEntries)).Select(m => m.Trim().ToLowerInvariant()).Distinct().ToArray();
                var unknown = wanted.FirstOrDefault(m => !KnownMetrics.Contains(m));
                if (wanted.Length == 0 || unknown is not null)
                    throw new ArgumentException($"--eval takes pq, bbox, segm and miou; got '{string.Join(" ", parse.GetValue(metrics)!)}'");
                var spec = ShardSpec.Resolve(parse.GetValue(shard), parse.GetValue(shards), Environment.GetEnvironmentVariable);
                var root = parse.GetValue(data)?.FullName;
                string Path_(FileSystemInfo? given, string relative, string option) => given?.FullName
                    ?? (root is not null ? Path.Combine(root, relative) : throw new ArgumentException($"give --data ROOT or {option}"));
                var panoptic = wanted.Contains("pq") || wanted.Contains("miou");
                var instances = wanted.Contains("bbox") || wanted.Contains("segm");
                var run = new TestRun
                {
                    Metrics = wanted,
                    Shard = spec,
                    PanopticJson = panoptic ? Path_(parse.GetValue(panopticJson), "annotations/panoptic_val2017.json", "--panoptic-json") : null,
                    PanopticFolder = panoptic ? Path_(parse.GetValue(panopticFolder), "annotations/panoptic_val2017", "--panoptic-folder") : null,
                    InstancesJson = instances ? Path_(parse.GetValue(instancesJson), "annotations/instances_val2017.json", "--instances-json") : null,
                    ImagesFolder = Path_(parse.GetValue(images), "val2017", "--images"),
                    Progress = stderr,
                };
                var outFolder = parse.GetValue(output)?.FullName;
                if (outFolder is null && !spec.IsWhole) throw new ArgumentException("a shard needs --out: its predictions and accumulators are what m2f merge reads");
                var predictor = predictorOptions.Build(parse, out var modelFiles);
                run.ModelFingerprint = EvaluationState.Fingerprint(modelFiles);

                var temporary = outFolder is null;
                outFolder ??= Path.Combine(Path.GetTempPath(), "m2f-test-" + Guid.NewGuid().ToString("N"));
                EvaluationState state;
                try
                {
                    if (spec.IsWhole)
                    {
                        Directory.CreateDirectory(outFolder);
                        state = run.Execute(predictor, outFolder);
                    }
                    else
                    {
                        EvaluationState? written = null;
                        ShardFolder.Replace(Path.Combine(outFolder, spec.Name), folder => written = run.Execute(predictor, folder));
                        state = written!;
                    }
                }
                finally
                {
                    if (temporary && Directory.Exists(outFolder)) Directory.Delete(outFolder, recursive: true);
                }
                if (!spec.IsWhole)
                {
                    stdout.WriteLine($"Shard {spec} done: {state.ImageCount} images in {Path.Combine(outFolder, spec.Name)}. When every shard is done: m2f merge --out DIR {Path.Combine(outFolder, "shard-*")}");
                    return CliExit.Ok;
                }
                var result = state.ComputeMetrics();
                result.Print(stdout);
                if (parse.GetValue(json) is { } jsonFile) JsonOutput.Write(jsonFile.FullName, result.WriteJson);
                return CliExit.Ok;
            }));
            return command;
        }
    }

    /// <summary>One <c>m2f test</c> run over its shard of the images.</summary>
    internal sealed class TestRun
    {
        public required IReadOnlyList<string> Metrics { get; init; }
        public required ShardSpec Shard { get; init; }
        public string? PanopticJson { get; init; }
        public string? PanopticFolder { get; init; }
        public string? InstancesJson { get; init; }
        public required string ImagesFolder { get; init; }
        public required TextWriter Progress { get; init; }
        public string ModelFingerprint { get; set; } = "";

        private bool Wants(string metric) => Metrics.Contains(metric);

        /// <summary>Runs the model over the shard's images, writes predictions and evaluation.json into <paramref name="folder"/>.</summary>
        public EvaluationState Execute(Mask2FormerPredictorOptions options, string folder)
        {
            var panopticGt = PanopticJson is null ? null : CocoPanopticDataset.Load(PanopticJson);
            var instancesGt = InstancesJson is null ? null : CocoInstancesDataset.Load(InstancesJson);
            if (PanopticFolder is not null && !Directory.Exists(PanopticFolder)) throw new DirectoryNotFoundException($"panoptic segment-map folder not found: '{PanopticFolder}'");
            if (!Directory.Exists(ImagesFolder)) throw new DirectoryNotFoundException($"image folder not found: '{ImagesFolder}'");
            var categories = panopticGt?.Categories
                ?? instancesGt!.Categories.Select(c => new CocoPanopticCategory(c.Id, c.Name, true, c.Supercategory)).ToArray();

            // The images: the panoptic ground truth's annotated ones (else the instance ground truth's), in image-id order.
            var imagesById = (panopticGt?.Images ?? instancesGt!.Images).ToDictionary(i => i.Id, StringComparer.Ordinal);
            var ids = panopticGt is not null ? panopticGt.Annotations.Select(a => a.ImageId) : instancesGt!.Images.Select(i => i.Id);
            var ordered = CocoIds.Sorted(ids);
            var mine = ordered.Where((_, position) => Shard.Contains(position)).ToArray();
            if (instancesGt is not null)
            {
                foreach (var id in mine)
                    if (!instancesGt.TryGetImage(id, out _)) throw new DataFormatException("the image is not in the instance ground truth", InstancesJson, id);
            }

            using var predictor = new Mask2FormerPredictor(options);
            var labels = predictor.Labels;
            var known = categories.Select(c => c.Id).ToHashSet();
            var foreign = labels.Where(l => !known.Contains(l.Id)).ToArray();
            if (foreign.Length > 0)
                throw new ArgumentException($"the model's category ids {string.Join(", ", foreign.Take(10).Select(l => $"{l.Id} ('{l.Name}')"))} are not in the ground truth's categories; export the model with the data set's categories (a trained run folder carries them)");

            var pngFolder = Path.Combine(folder, "panoptic");
            if (Wants("pq")) Directory.CreateDirectory(pngFolder);
            var pqEvaluator = Wants("pq") ? new PanopticEvaluator(categories) : null;
            var pq = Wants("pq") ? new Dictionary<string, PanopticQualityAccumulator>(StringComparer.Ordinal) : null;
            var semantic = Wants("miou") ? new SemanticFromPanoptic(categories) : null;
            var miou = semantic?.CreateAccumulator();
            var cocoImages = new List<CocoImage>();
            var annotations = new List<CocoPanopticAnnotation>();
            var boxes = new List<CocoDetection>();
            var masks = new List<CocoDetection>();
            var watch = Stopwatch.StartNew();
            for (var n = 0; n < mine.Length; n++)
            {
                var image = imagesById.TryGetValue(mine[n], out var found) ? found
                    : throw new DataFormatException("the annotated image is not listed in 'images'", PanopticJson, mine[n]);
                var path = Path.Combine(ImagesFolder, image.FileName);
                MLImage photo;
                try { photo = MLImage.CreateFromFile(path); }
                catch (Exception e) when (e is ArgumentException or IOException or InvalidOperationException)
                {
                    throw new DataFormatException($"cannot read the image: {e.Message}", path, image.Id);
                }
                Mask2FormerPrediction prediction;
                using (photo)
                {
                    if (photo.Width != image.Width || photo.Height != image.Height)
                        throw new DataFormatException($"the image is {photo.Width}x{photo.Height} but the ground truth says {image.Width}x{image.Height}", path, image.Id);
                    prediction = predictor.Predict(photo, semantic: miou is not null);
                }
                cocoImages.Add(image);

                var result = prediction.Panoptic;
                if (panopticGt is not null && panopticGt.TryGetAnnotation(image.Id, out var truth))
                {
                    uint[]? gtMap = null;
                    uint[] Truth() => gtMap ??= Png.ReadIds(Path.Combine(PanopticFolder!, truth.FileName), out _, out _);
                    if (pq is not null)
                    {
                        var (map, segments) = CocoPredictions.Panoptic(result, labels);
                        Png.WriteIds(Path.Combine(pngFolder, truth.FileName), map, result.Width, result.Height);
                        annotations.Add(new CocoPanopticAnnotation(image.Id, truth.FileName, segments));
                        var counts = new PanopticQualityAccumulator();
                        counts.Add(pqEvaluator!.EvaluateImage(image.Id, Truth(), truth.Segments, map, segments));
                        pq[image.Id] = counts;
                    }
                    if (miou is not null)
                    {
                        var classes = prediction.Semantic!.ClassMap;
                        var categoryMap = new uint[classes.Length];
                        for (var i = 0; i < categoryMap.Length; i++) categoryMap[i] = (uint)labels[classes[i]].Id;
                        semantic!.Add(miou, image.Id, Truth(), truth.Segments, categoryMap);
                    }
                }
                var (imageBoxes, imageMasks) = CocoPredictions.Instances(prediction.Instances, image.Id, labels);
                boxes.AddRange(imageBoxes);
                masks.AddRange(imageMasks);
                if ((n + 1) % 50 == 0 || n + 1 == mine.Length)
                    Progress.WriteLine($"tested {n + 1}/{mine.Length} images{(Shard.IsWhole ? "" : $" of shard {Shard}")} ({watch.Elapsed.TotalSeconds:F1} s)");
            }

            // Predictions in COCO formats (instance results as mmdetection writes them: boxes alone, masks with their boxes).
            if (pq is not null) new CocoPanopticDataset(cocoImages, annotations, categories).Save(Path.Combine(folder, "panoptic.json"));
            if (instancesGt is not null)
            {
                CocoResultsFile.Save(Path.Combine(folder, "instances.bbox.json"), boxes);
                CocoResultsFile.Save(Path.Combine(folder, "instances.segm.json"), masks);
            }
            InstanceEvaluationAccumulator? Instances(InstanceIouType type, List<CocoDetection> detections)
            {
                if (instancesGt is null) return null;
                var ids = mine.ToHashSet(StringComparer.Ordinal);
                var part = new CocoInstancesDataset(instancesGt.Images.Where(i => ids.Contains(i.Id)).ToArray(),
                    instancesGt.Annotations.Where(a => ids.Contains(a.ImageId)).ToArray(), instancesGt.Categories, instancesGt.Source);
                return InstanceEvaluator.Accumulate(part, detections, type, resultsSource: "the predicted instances");
            }
            var state = new EvaluationState
            {
                Shard = Shard,
                Model = ModelFingerprint,
                GroundTruth = EvaluationState.Fingerprint(new[] { PanopticJson, InstancesJson }.OfType<string>()),
                Metrics = Metrics,
                Categories = categories,
                ImageCount = mine.Length,
                PanopticImages = pq,
                Boxes = Wants("bbox") ? Instances(InstanceIouType.BoundingBox, boxes) : null,
                Masks = Wants("segm") ? Instances(InstanceIouType.Segmentation, masks) : null,
                Semantic = miou,
            };
            state.Write(Path.Combine(folder, EvaluationState.FileName));
            return state;
        }
    }
}
