using System.CommandLine;
using System.Diagnostics;
using Microsoft.ML.Mask2Former.Formats;
using Microsoft.ML.Mask2Former.Rendering;

namespace Mask2Former.Cli
{
    internal static partial class CommandHooks
    {
        static partial void AddRender(RootCommand root, TextWriter stdout, TextWriter stderr) =>
            root.Subcommands.Add(Commands.RenderCommand.Create(stdout, stderr));
    }
}

namespace Mask2Former.Cli.Commands
{
    /// <summary><c>m2f render</c>: overlays of a COCO panoptic set (ground truth or predictions) over its images.</summary>
    internal static class RenderCommand
    {
        private static readonly string[] ImageExtensions = [".jpg", ".jpeg", ".png", ".webp"];

        public static Command Create(TextWriter stdout, TextWriter stderr)
        {
            var json = new Option<FileInfo>("--json") { Description = "COCO panoptic JSON (ground truth or predictions, e.g. from m2f segment).", Required = true };
            var pngFolder = new Option<DirectoryInfo>("--png-folder") { Description = "Folder of the segment-map PNGs the JSON names.", Required = true };
            var images = new Option<DirectoryInfo?>("--images") { Description = "Folder of the photos (found by the JSON's images list, else by the PNG's stem); without it the overlay is drawn on grey." };
            var categories = new Option<FileInfo?>("--categories") { Description = "A COCO panoptic JSON whose categories name the ids (default: the --json file's own categories)." };
            var output = new Option<DirectoryInfo>("--out") { Description = "Output folder; one <stem>.png per image.", Required = true };
            var noLabels = new Option<bool>("--no-labels") { Description = "Draw colours and boundaries only." };

            var command = new Command("render", "Draw segmentation overlays (category colours, boundaries, labels) over the images of a COCO panoptic set.")
            {
                json, pngFolder, images, categories, output, noLabels,
            };
            command.SetAction(parse => CliExit.Guard(stderr, () =>
            {
                var set = CocoPanopticDataset.Load(parse.GetValue(json)!.FullName);
                var names = (parse.GetValue(categories) is { } c ? CocoPanopticDataset.Load(c.FullName) : set).Categories
                    .ToDictionary(x => x.Id, x => x.Name);
                if (names.Count == 0)
                    throw new ArgumentException($"'{parse.GetValue(json)!.FullName}' has no categories: pass --categories with the ground-truth JSON");
                var pngs = parse.GetValue(pngFolder)!.FullName;
                if (!Directory.Exists(pngs)) throw new DirectoryNotFoundException($"PNG folder not found: '{pngs}'");
                var imageFolder = parse.GetValue(images)?.FullName;
                if (imageFolder is not null && !Directory.Exists(imageFolder)) throw new DirectoryNotFoundException($"image folder not found: '{imageFolder}'");
                var outFolder = parse.GetValue(output)!.FullName;
                Directory.CreateDirectory(outFolder);
                var options = new OverlayOptions { DrawLabels = !parse.GetValue(noLabels) };
                var fileNames = set.Images.ToDictionary(i => i.Id, i => i.FileName, StringComparer.Ordinal);

                var watch = Stopwatch.StartNew();
                var marker = IncompleteMarker.Begin("render", outFolder);
                for (var n = 0; n < set.Annotations.Count; n++)
                {
                    var a = set.Annotations[n];
                    var mapPath = Path.Combine(pngs, a.FileName);
                    var map = Png.ReadIds(mapPath, out var width, out var height);
                    var segments = a.Segments.Select(s => new OverlaySegment(s.Id, s.CategoryId,
                        names.TryGetValue(s.CategoryId, out var name) ? name
                            : throw new DataFormatException($"category {s.CategoryId} is not in the category list", mapPath, a.ImageId, s.Id))).ToList();
                    var stem = Path.GetFileNameWithoutExtension(a.FileName);
                    var target = Path.Combine(outFolder, stem + ".png");
                    var photo = imageFolder is null ? null : FindImage(imageFolder, fileNames.GetValueOrDefault(a.ImageId), stem);
                    if (photo is not null)
                    {
                        SegmentationOverlay.Save(target, photo, map, width, height, segments, options);
                    }
                    else
                    {
                        if (imageFolder is not null)
                            throw new FileNotFoundException($"no image for '{a.FileName}' (image id {a.ImageId}) in '{imageFolder}'");
                        var png = SegmentationOverlay.RenderPng([], map, width, height, segments, options);
                        AtomicFile.Write(target, s => s.Write(png));
                    }
                    if ((n + 1) % 50 == 0 || n + 1 == set.Annotations.Count)
                        stderr.WriteLine($"rendered {n + 1}/{set.Annotations.Count} ({watch.Elapsed.TotalSeconds:F1} s)");
                }
                marker.Complete();
                stdout.WriteLine($"{set.Annotations.Count} overlays written to {outFolder}");
                return CliExit.Ok;
            }));
            return command;
        }

        private static string? FindImage(string folder, string? listedName, string stem)
        {
            if (listedName is not null && File.Exists(Path.Combine(folder, listedName))) return Path.Combine(folder, listedName);
            return ImageExtensions.Select(e => Path.Combine(folder, stem + e)).FirstOrDefault(File.Exists);
        }
    }
}
