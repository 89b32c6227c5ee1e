using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Microsoft.ML.Mask2Former.Formats;
using Microsoft.ML.Mask2Former.PostProcessing;
using Microsoft.ML.Mask2Former.Rendering;
using Microsoft.ML.Mask2Former.Scoring;

namespace Mask2Former.Cli
{
    internal static partial class CommandHooks
    {
        static partial void AddSegment(RootCommand root, TextWriter stdout, TextWriter stderr) =>
            root.Subcommands.Add(Commands.SegmentCommand.Create(stdout, stderr));
    }
}

namespace Mask2Former.Cli.Commands
{
    /// <summary><c>m2f segment</c>: COCO panoptic predictions (JSON + one PNG per image) from a Mask2Former ONNX model.</summary>
    internal static class SegmentCommand
    {
        private static readonly string[] ImageExtensions = [".jpg", ".jpeg", ".png", ".webp", ".bmp"];

        public static Command Create(TextWriter stdout, TextWriter stderr)
        {
            var model = new Option<FileInfo>("--model") { Description = "Mask2Former ONNX model (pixel_values → class_queries_logits, masks_queries_logits).", Required = true };
            var labels = new Option<FileInfo?>("--labels")
            {
                Description = "Label set JSON {\"labels\": [{\"id\", \"name\", \"isthing\"}], \"object_mask_threshold\"?, \"overlap_threshold\"?}; entry i describes logit i (default: the model's metadata, else id = index + 1).",
            };
            var images = new Option<DirectoryInfo>("--images") { Description = "Folder of images (.jpg, .jpeg, .png, .webp, .bmp).", Required = true };
            var outJson = new Option<FileInfo>("--out-json") { Description = "COCO panoptic prediction JSON to write.", Required = true };
            var outFolder = new Option<DirectoryInfo>("--out-folder") { Description = "Folder for the segment-map PNGs (<stem>.png).", Required = true };
            var inputSize = new Option<string?>("--input-size") { Description = "Letterbox every image to HxW (needed by models exported at one size; default: the model's fixed size, else full resolution: shortest edge 800, max 1333)." };
            var threads = new Option<int?>("--threads") { Description = "ONNX Runtime intra-op threads (default: ONNX Runtime's choice)." };
            var postProcessing = new Option<string?>("--post-processing")
            {
                Description = "Whose panoptic post-processing to reproduce: d2 (detectron2's Mask2Former) or mmdet (mmdetection's MaskFormerFusionHead, the post-processing of mmdetection checkpoints' published numbers). Default: the model's m2f.post_processing metadata, else d2.",
            };
            var filterLowScore = new Option<bool?>("--filter-low-score")
            {
                Description = "With mmdet: keep only segment pixels whose own mask probability is at least 0.5 (mmdetection's test_cfg filter_low_score; the ViT-Adapter configs set it). Default: the model's m2f.filter_low_score metadata, else false.",
            };
            var instancesJson = new Option<FileInfo?>("--instances-json")
            {
                Description = "Also write the instance predictions of the same forward pass (things only) as a COCO results file (segmentation as RLE, bbox, score), which m2f eval instances reads.",
            };
            var shard = new Option<string?>("--shard") { Description = "Segment shard I of N (images whose position in file-name order is I modulo N), e.g. 0/4; the JSON gets the shard's name (pred.shard-0000-of-0004.json)." };
            var shards = new Option<int?>("--shards") { Description = $"The number of shards, with a Kubernetes Indexed Job's JOB_COMPLETION_INDEX (or set {Sharding.ShardSpec.ShardCountVariable})." };
            var gpu = new Option<int?>("--gpu")
            {
                Description = "Run the model on this CUDA device (needs m2f built with the CUDA build of ONNX Runtime, see the README's \"GPU scoring\", and CUDA 13 + cuDNN 9); without --gpu-fallback an error when CUDA does not start.",
            };
            var gpuFallback = new Option<bool>("--gpu-fallback") { Description = "With --gpu: run on the CPU, with a warning, when CUDA does not start." };
            var overlay = new Option<DirectoryInfo?>("--overlay") { Description = "Also draw each image with its segments (category colours, boundaries, labels with scores) as <stem>_overlay.png in this folder." };

            var command = new Command("segment", "Panoptic segmentation of a folder of images with a Mask2Former ONNX model, written as COCO panoptic predictions (JSON + PNGs) that m2f eval panoptic reads.")
            {
                model, labels, images, outJson, outFolder, inputSize, threads, gpu, gpuFallback, postProcessing, filterLowScore, instancesJson, shard, shards, overlay,
            };
            command.SetAction(parse => CliExit.Guard(stderr, () =>
            {
                var folder = parse.GetValue(images)!.FullName;
                if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"image folder not found: '{folder}'");
                var files = Directory.EnumerateFiles(folder)
                    .Where(f => ImageExtensions.Contains(Path.GetExtension(f).ToLowerInvariant()))
                    .OrderBy(f => f, StringComparer.Ordinal).ToList();
                if (files.Count == 0) throw new ArgumentException($"no images (.jpg, .jpeg, .png, .webp, .bmp) in '{folder}'");
                var spec = Sharding.ShardSpec.Resolve(parse.GetValue(shard), parse.GetValue(shards), Environment.GetEnvironmentVariable);
                files = files.Where((_, position) => spec.Contains(position)).ToList();
                var jsonPath = parse.GetValue(outJson)!.FullName;
                if (!spec.IsWhole) jsonPath = Path.ChangeExtension(jsonPath, null) + "." + spec.Name + ".json";
                var duplicate = files.GroupBy(f => Path.GetFileNameWithoutExtension(f), StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
                if (duplicate is not null)
                    throw new ArgumentException($"two images share the stem '{duplicate.Key}' ({string.Join(", ", duplicate.Select(Path.GetFileName))}); their PNGs would collide");
                // Every image's header before the model loads: a FIFO, a bomb or a non-image fails in a moment.
                foreach (var file in files) ImageFile.ReadSize(file);
                var sameId = files.GroupBy(f => ImageId(Path.GetFileNameWithoutExtension(f)), StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
                if (sameId is not null)
                    throw new ArgumentException($"the images {string.Join(" and ", sameId.Select(f => $"'{Path.GetFileName(f)}'"))} in '{folder}' would all get image id {sameId.Key} (numeric names are read as numbers); rename all but one");

                var instancesFile = parse.GetValue(instancesJson)?.FullName;
                if (instancesFile is not null && !spec.IsWhole) instancesFile = Path.ChangeExtension(instancesFile, null) + "." + spec.Name + ".json";
                // Instances beside panoptic results are things only, as detectron2 (panoptic on) and mmdetection report them.
                var options = new Mask2FormerPredictorOptions { ModelPath = parse.GetValue(model)!.FullName, IntraOpNumThreads = parse.GetValue(threads), ThingClassesOnly = true,
                    GpuDeviceId = parse.GetValue(gpu), FallbackToCpu = parse.GetValue(gpuFallback) };
                if (parse.GetValue(labels) is { } labelFile)
                {
                    options.Labels = Mask2FormerLabelSet.Load(labelFile.FullName, out var objectThreshold, out var overlapThreshold);
                    options.ObjectMaskThreshold = objectThreshold;
                    options.OverlapThreshold = overlapThreshold;
                }
                if (parse.GetValue(postProcessing) is { } mode)
                    options.PostProcessing = PostProcessingModes.Parse(mode) ?? throw new ArgumentException($"--post-processing must be d2 or mmdet; found '{mode}'");
                options.FilterLowScore = parse.GetValue(filterLowScore);
                if (parse.GetValue(inputSize) is { } size)
                    (options.InputHeight, options.InputWidth) = CliArguments.ParseSize(size, "--input-size");

                var pngFolder = parse.GetValue(outFolder)!.FullName;
                Directory.CreateDirectory(pngFolder);
                var overlayFolder = parse.GetValue(overlay)?.FullName;
                if (overlayFolder is not null) Directory.CreateDirectory(overlayFolder);
                using var predictor = new Mask2FormerPredictor(options);
                var marker = IncompleteMarker.Begin("segment", pngFolder, overlayFolder);
                if (predictor.GpuFallbackReason is { } reason) stderr.WriteLine($"m2f: warning: {reason}");
                var cocoImages = new List<CocoImage>();
                var annotations = new List<CocoPanopticAnnotation>();
                var detections = new List<CocoDetection>();
                var watch = Stopwatch.StartNew();
                for (var n = 0; n < files.Count; n++)
                {
                    var file = files[n];
                    var stem = Path.GetFileNameWithoutExtension(file);
                    var imageId = ImageId(stem);
                    using (var image = ImageFile.Load(file))
                    {
                        PanopticResult result;
                        if (instancesFile is null) result = predictor.PredictPanoptic(image);
                        else
                        {
                            var both = predictor.Predict(image);
                            result = both.Panoptic;
                            detections.AddRange(CocoPredictions.Instances(both.Instances, imageId, predictor.Labels).Masks);
                        }
                        var (map, segments) = CocoPredictions.Panoptic(result, predictor.Labels);
                        var pngName = stem + ".png";
                        Png.WriteIds(Path.Combine(pngFolder, pngName), map, result.Width, result.Height);
                        annotations.Add(new CocoPanopticAnnotation(imageId, pngName, segments));
                        if (overlayFolder is not null)
                        {
                            var drawn = result.Segments.Select(s => new OverlaySegment((uint)s.Id, predictor.Labels[s.CategoryId].Id, predictor.Labels[s.CategoryId].Name, s.Score)).ToArray();
                            var scale = Math.Max(1, Math.Min(8, 512 / Math.Max(1, Math.Max(result.Width, result.Height))));
                            SegmentationOverlay.Save(Path.Combine(overlayFolder, stem + "_overlay.png"), file, map, result.Width, result.Height, drawn, new OverlayOptions { Scale = scale });
                        }
                        cocoImages.Add(new CocoImage(imageId, Path.GetFileName(file), result.Width, result.Height));
                    }
                    if ((n + 1) % 50 == 0 || n + 1 == files.Count)
                        stderr.WriteLine($"segmented {n + 1}/{files.Count} ({watch.Elapsed.TotalSeconds:F1} s)");
                }
                if (predictor.ImagesWithNonFiniteLogits == files.Count)
                    throw new DataFormatException($"the model gave NaN or infinite logits for every image ({predictor.NonFiniteLogits} values): its weights are damaged or it overflows on these inputs", options.ModelPath);
                if (predictor.ImagesWithNonFiniteLogits > 0)
                    stderr.WriteLine($"m2f: warning: the model gave NaN or infinite logits for {predictor.ImagesWithNonFiniteLogits} of {files.Count} images ({predictor.NonFiniteLogits} values); their segments may be missing");
                var categories = predictor.Labels.Select(l => new CocoPanopticCategory(l.Id, l.Name, l.IsThing)).ToList();
                new CocoPanopticDataset(cocoImages, annotations, categories, jsonPath).Save(jsonPath);
                if (instancesFile is not null) CocoResultsFile.Save(instancesFile, detections);
                marker.Complete();
                stdout.WriteLine($"{files.Count} images segmented: {annotations.Sum(a => a.Segments.Count)} segments; predictions in {jsonPath} and {pngFolder}");
                return CliExit.Ok;
            }));
            return command;
        }

        /// <summary>The integer value of a numeric stem ("000000000001" → "1"), else the stem itself.</summary>
        internal static string ImageId(string stem) =>
            stem.Length > 0 && stem.All(char.IsAsciiDigit) && long.TryParse(stem, NumberStyles.None, CultureInfo.InvariantCulture, out var value)
                ? value.ToString(CultureInfo.InvariantCulture)
                : stem;
    }
}
