using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Microsoft.ML.Data;
using Microsoft.ML.Mask2Former.Formats;
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
            var gpu = new Option<int?>("--gpu")
            {
                Description = "Run the model on this CUDA device (needs m2f built with the CUDA build of ONNX Runtime, see the README's \"GPU scoring\", and CUDA 13 + cuDNN 9); without --gpu-fallback an error when CUDA does not start.",
            };
            var gpuFallback = new Option<bool>("--gpu-fallback") { Description = "With --gpu: run on the CPU, with a warning, when CUDA does not start." };
            var overlay = new Option<DirectoryInfo?>("--overlay") { Description = "Also draw each image with its segments (category colours, boundaries, labels with scores) as <stem>_overlay.png in this folder." };

            var command = new Command("segment", "Panoptic segmentation of a folder of images with a Mask2Former ONNX model, written as COCO panoptic predictions (JSON + PNGs) that m2f eval panoptic reads.")
            {
                model, labels, images, outJson, outFolder, inputSize, threads, gpu, gpuFallback, overlay,
            };
            command.SetAction(parse => CliExit.Guard(stderr, () =>
            {
                var folder = parse.GetValue(images)!.FullName;
                if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"image folder not found: '{folder}'");
                var files = Directory.EnumerateFiles(folder)
                    .Where(f => ImageExtensions.Contains(Path.GetExtension(f).ToLowerInvariant()))
                    .OrderBy(f => f, StringComparer.Ordinal).ToList();
                if (files.Count == 0) throw new ArgumentException($"no images (.jpg, .jpeg, .png, .webp, .bmp) in '{folder}'");
                var duplicate = files.GroupBy(f => Path.GetFileNameWithoutExtension(f), StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
                if (duplicate is not null)
                    throw new ArgumentException($"two images share the stem '{duplicate.Key}' ({string.Join(", ", duplicate.Select(Path.GetFileName))}); their PNGs would collide");

                var options = new Mask2FormerPredictorOptions
                {
                    ModelPath = parse.GetValue(model)!.FullName,
                    IntraOpNumThreads = parse.GetValue(threads),
                    GpuDeviceId = parse.GetValue(gpu),
                    FallbackToCpu = parse.GetValue(gpuFallback),
                };
                if (parse.GetValue(labels) is { } labelFile)
                {
                    options.Labels = Mask2FormerLabelSet.Load(labelFile.FullName, out var objectThreshold, out var overlapThreshold);
                    options.ObjectMaskThreshold = objectThreshold;
                    options.OverlapThreshold = overlapThreshold;
                }
                if (parse.GetValue(inputSize) is { } size)
                    (options.InputHeight, options.InputWidth) = CliArguments.ParseSize(size, "--input-size");

                var pngFolder = parse.GetValue(outFolder)!.FullName;
                Directory.CreateDirectory(pngFolder);
                var overlayFolder = parse.GetValue(overlay)?.FullName;
                if (overlayFolder is not null) Directory.CreateDirectory(overlayFolder);
                using var predictor = new Mask2FormerPredictor(options);
                if (predictor.GpuFallbackReason is { } reason) stderr.WriteLine($"m2f: warning: {reason}");
                var cocoImages = new List<CocoImage>();
                var annotations = new List<CocoPanopticAnnotation>();
                var watch = Stopwatch.StartNew();
                for (var n = 0; n < files.Count; n++)
                {
                    var file = files[n];
                    var stem = Path.GetFileNameWithoutExtension(file);
                    var imageId = ImageId(stem);
                    MLImage image;
                    try { image = MLImage.CreateFromFile(file); }
                    catch (Exception e) when (e is ArgumentException or IOException or InvalidOperationException)
                    {
                        throw new DataFormatException($"cannot read the image: {e.Message}", file);
                    }
                    using (image)
                    {
                        var result = predictor.PredictPanoptic(image);
                        var map = new uint[result.SegmentIds.Length];
                        for (var i = 0; i < map.Length; i++) map[i] = (uint)result.SegmentIds[i];
                        var pngName = stem + ".png";
                        Png.WriteIds(Path.Combine(pngFolder, pngName), map, result.Width, result.Height);
                        var segments = result.Segments.Select(s => new CocoPanopticSegment((uint)s.Id, predictor.Labels[s.CategoryId].Id, false, s.Area,
                            [s.Box.X, s.Box.Y, s.Box.Width, s.Box.Height])).ToList();
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
                var categories = predictor.Labels.Select(l => new CocoPanopticCategory(l.Id, l.Name, l.IsThing)).ToList();
                new CocoPanopticDataset(cocoImages, annotations, categories).Save(parse.GetValue(outJson)!.FullName);
                stdout.WriteLine($"{files.Count} images segmented: {annotations.Sum(a => a.Segments.Count)} segments; predictions in {parse.GetValue(outJson)!.FullName} and {pngFolder}");
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
