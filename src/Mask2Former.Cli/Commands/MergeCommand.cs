using System.CommandLine;
using Mask2Former.Cli.Sharding;
using Microsoft.ML.Mask2Former.Evaluation;
using Microsoft.ML.Mask2Former.Formats;

namespace Mask2Former.Cli
{
    internal static partial class CommandHooks
    {
        static partial void AddMerge(RootCommand root, TextWriter stdout, TextWriter stderr) =>
            root.Subcommands.Add(Commands.MergeCommand.Create(stdout, stderr));
    }
}

namespace Mask2Former.Cli.Commands
{
    /// <summary>
    /// <c>m2f merge --out DIR PARTIALS…</c>: the shards of one <c>m2f test</c> run, merged — their
    /// accumulators into exactly the metrics one process would have computed over all images, their
    /// predictions into one set of COCO files.
    /// </summary>
    internal static class MergeCommand
    {
        public static Command Create(TextWriter stdout, TextWriter stderr)
        {
            var output = new Option<DirectoryInfo>("--out") { Description = "Where the merged predictions, evaluation.json and metrics.json go.", Required = true };
            var json = new Option<FileInfo?>("--json") { Description = "Also write the metrics as JSON to this file." };
            var partials = new Argument<string[]>("PARTIALS") { Description = "The shards' output folders (<out>/shard-I-of-N of m2f test), all of one run.", Arity = ArgumentArity.OneOrMore };
            var command = new Command("merge", "Merge the shards of an m2f test run: exactly the single-process metrics, and the predictions as one set of COCO files.")
            {
                output, json, partials,
            };
            command.SetAction(parse => CliExit.Guard(stderr, () =>
            {
                var folders = parse.GetValue(partials)!.Select(Path.GetFullPath).ToArray();
                var states = folders.Select(f => (Folder: f, State: EvaluationState.Read(Path.Combine(f, EvaluationState.FileName)))).ToArray();
                var merged = Merge(states);
                var destination = parse.GetValue(output)!.FullName;
                if (folders.Any(f => Path.GetRelativePath(f, destination) is var r && !r.StartsWith("..", StringComparison.Ordinal) && !Path.IsPathRooted(r)))
                    throw new ArgumentException($"--out '{destination}' lies inside a shard folder it reads");
                Directory.CreateDirectory(destination);
                MergePredictions(states.Select(s => s.Folder).ToArray(), destination);
                merged.Write(Path.Combine(destination, EvaluationState.FileName));
                var result = merged.ComputeMetrics();
                result.Print(stdout);
                JsonOutput.Write(Path.Combine(destination, "metrics.json"), result.WriteJson);
                if (parse.GetValue(json) is { } jsonFile) JsonOutput.Write(jsonFile.FullName, result.WriteJson);
                stderr.WriteLine($"Merged {states.Length} shards, {merged.ImageCount} images, into {destination}.");
                return CliExit.Ok;
            }));
            return command;
        }

        /// <summary>The shards' states as one; they must be every shard of one run, each once.</summary>
        internal static EvaluationState Merge(IReadOnlyList<(string Folder, EvaluationState State)> shards)
        {
            var first = shards[0].State;
            foreach (var (folder, s) in shards)
            {
                string? differs = s.Shard.Count != first.Shard.Count ? $"{s.Shard.Count} shards, not {first.Shard.Count}"
                    : s.Model != first.Model ? "another model"
                    : s.GroundTruth != first.GroundTruth ? "other ground truth"
                    : !s.Metrics.SequenceEqual(first.Metrics) ? $"other metrics ({string.Join(" ", s.Metrics)})"
                    : null;
                if (differs is not null) throw new ArgumentException($"'{folder}' belongs to another run than '{shards[0].Folder}': {differs}");
            }
            var seen = shards.GroupBy(s => s.State.Shard.Index).FirstOrDefault(g => g.Count() > 1);
            if (seen is not null) throw new ArgumentException($"shard {seen.Key} is given twice: {string.Join(", ", seen.Select(s => s.Folder))}");
            var missing = Enumerable.Range(0, first.Shard.Count).Except(shards.Select(s => s.State.Shard.Index)).ToArray();
            if (missing.Length > 0)
                throw new ArgumentException($"shards {string.Join(", ", missing.Take(20))} of {first.Shard.Count} are missing: merging them would not give the whole data set's metrics");

            Dictionary<string, PanopticQualityAccumulator>? pq = null;
            InstanceEvaluationAccumulator? boxes = null, masks = null;
            SemanticSegmentationAccumulator? miou = null;
            foreach (var (_, s) in shards.OrderBy(s => s.State.Shard.Index))
            {
                if (s.PanopticImages is { } p)
                {
                    pq ??= new Dictionary<string, PanopticQualityAccumulator>(StringComparer.Ordinal);
                    foreach (var (id, counts) in p)
                        if (!pq.TryAdd(id, counts)) throw new ArgumentException($"image {id} is in two shards (overlapping runs?)");
                }
                if (s.Boxes is { } b) { if (boxes is null) boxes = b; else boxes.Add(b); }
                if (s.Masks is { } m) { if (masks is null) masks = m; else masks.Add(m); }
                if (s.Semantic is { } c) { if (miou is null) miou = c; else miou.Merge(c); }
            }
            return new EvaluationState
            {
                Shard = ShardSpec.Whole,
                Model = first.Model,
                GroundTruth = first.GroundTruth,
                Metrics = first.Metrics,
                Categories = first.Categories,
                ImageCount = shards.Sum(s => s.State.ImageCount),
                PanopticImages = pq,
                Boxes = boxes,
                Masks = masks,
                Semantic = miou,
            };
        }

        /// <summary>One panoptic JSON (PNGs copied beside it) and one results file per IoU type, images in image-id order.</summary>
        private static void MergePredictions(string[] folders, string destination)
        {
            var panoptic = folders.Select(f => Path.Combine(f, "panoptic.json")).Where(File.Exists).ToArray();
            if (panoptic.Length > 0)
            {
                var sets = panoptic.Select(CocoPanopticDataset.Load).ToArray();
                var png = Path.Combine(destination, "panoptic");
                Directory.CreateDirectory(png);
                for (var i = 0; i < sets.Length; i++)
                    foreach (var a in sets[i].Annotations)
                        File.Copy(Path.Combine(Path.GetDirectoryName(panoptic[i])!, "panoptic", a.FileName), Path.Combine(png, a.FileName), overwrite: true);
                var images = sets.SelectMany(s => s.Images).ToDictionary(i => i.Id, StringComparer.Ordinal);
                var annotations = sets.SelectMany(s => s.Annotations).ToDictionary(a => a.ImageId, StringComparer.Ordinal);
                var order = CocoIds.Sorted(images.Keys);
                new CocoPanopticDataset(order.Select(id => images[id]).ToArray(), order.Where(annotations.ContainsKey).Select(id => annotations[id]).ToArray(),
                    sets[0].Categories).Save(Path.Combine(destination, "panoptic.json"));
            }
            foreach (var name in new[] { "instances.bbox.json", "instances.segm.json" })
            {
                var files = folders.Select(f => Path.Combine(f, name)).Where(File.Exists).ToArray();
                if (files.Length == 0) continue;
                var byImage = files.SelectMany(CocoResultsFile.Load).GroupBy(d => d.ImageId, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToArray(), StringComparer.Ordinal);
                CocoResultsFile.Save(Path.Combine(destination, name), CocoIds.Sorted(byImage.Keys).SelectMany(id => byImage[id]));
            }
        }
    }
}
