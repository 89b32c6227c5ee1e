// The QuickStart: the whole life of a Mask2Former in .NET, on CPU, in a few minutes.
//   dotnet run -c Release --project samples/QuickStart [-- options]
// 1. synthesises a small COCO-panoptic data set (shapes on textured backgrounds),
// 2. trains a small Mask2Former from scratch in TorchSharp (live progress),
// 3. exports it to ONNX,
// 4. scores the validation images through an ML.NET pipeline (LoadImages → SegmentPanoptic),
// 5. evaluates PQ exactly as panopticapi does, and
// 6. draws overlays and a per-class PQ chart.
// Options: --out DIR, --steps N, --data DIR (your own COCO panoptic training folder: images/,
// panoptic.json, panoptic/), --val DIR (validation folder, same layout), --onnx F (skip training
// and score this model), --size S (square input size), --threads N.
using System.Diagnostics;
using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Mask2Former.Data;
using Microsoft.ML.Mask2Former;
using Microsoft.ML.Mask2Former.Evaluation;
using Microsoft.ML.Mask2Former.Formats;
using Microsoft.ML.Mask2Former.Rendering;
using Microsoft.ML.Mask2Former.Scoring;
using Microsoft.ML.Mask2Former.Synthetic;
using Microsoft.ML.Mask2Former.Training;
using Microsoft.ML.Mask2Former.Training.Export;
using Spectre.Console;

var ci = CultureInfo.InvariantCulture;
var settings = QuickStartSettings.Parse(args);
var total = Stopwatch.StartNew();
Directory.CreateDirectory(settings.Output);
TorchSharp.torch.set_num_threads(settings.Threads);
AnsiConsole.MarkupLine($"[bold]Mask2Former.MLNet QuickStart[/] → [blue]{Markup.Escape(settings.Output)}[/]");

// 1. Data.
var trainFolder = settings.TrainData ?? Path.Combine(settings.Output, "data", "train");
var valFolder = settings.ValData ?? Path.Combine(settings.Output, "data", "val");
if (settings.TrainData is null && settings.OnnxModel is null)
{
    SyntheticPanopticDataset.Generate(trainFolder, Synthetic(settings, 300, seed: 1));
    AnsiConsole.MarkupLine($"[green]✓[/] synthesised 300 training images ({settings.Size}×{settings.Size}) in {Markup.Escape(trainFolder)}");
}
if (settings.ValData is null)
{
    SyntheticPanopticDataset.Generate(valFolder, Synthetic(settings, 40, seed: 2));
    AnsiConsole.MarkupLine($"[green]✓[/] synthesised 40 held-out validation images in {Markup.Escape(valFolder)}");
}

// 2. Training (TorchSharp) and 3. export (ONNX, fixed input size for ML.NET's ApplyOnnxModel).
var onnxPath = settings.OnnxModel ?? Path.Combine(settings.Output, "model", "mask2former.onnx");
if (settings.OnnxModel is null)
{
    var options = SmallModelRecipe.Options(settings.Steps, settings.Size, Path.Combine(settings.Output, "model"));
    options.CheckpointInterval = Math.Max(1, settings.Steps / 2);
    options.ReportInterval = 10;
    options.Seed = 1;
    var trainer = new Mask2FormerTrainer(options);
    Mask2FormerTrainingResult result = null!;
    var watch = Stopwatch.StartNew();
    if (Console.IsOutputRedirected)
    {
        result = trainer.Fit(trainFolder, new Reporter(p => { if (p.Step % 50 == 0 || p.Step == p.TotalSteps) Console.WriteLine(p.ToString()); }));
    }
    else
    {
        AnsiConsole.Progress().AutoClear(false).Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask("training", maxValue: settings.Steps);
                result = trainer.Fit(trainFolder, new Reporter(p =>
                {
                    task.Value = p.Step;
                    task.Description = string.Create(ci, $"step {p.Step}/{p.TotalSteps}  loss {p.Loss:F2}  lr {p.LearningRate:E1}  {p.ImagesPerSecond:F1} img/s  ETA {p.EstimatedRemaining:mm\\:ss}");
                }));
            });
    }
    using var network = result.Network;
    AnsiConsole.MarkupLine(string.Create(ci, $"[green]✓[/] trained {result.Steps} steps in {watch.Elapsed.TotalMinutes:F1} min (last loss {result.LastLosses.GetValueOrDefault("loss", double.NaN):F2})"));
    // The trained network carries the data set's category ids and thing/stuff flags into the export.
    var report = Mask2FormerOnnxExporter.Export(network, onnxPath, new OnnxExportOptions
    {
        FixedHeight = settings.Size,
        FixedWidth = settings.Size,
        ObjectMaskThreshold = settings.ObjectMaskThreshold,
    });
    AnsiConsole.MarkupLine($"[green]✓[/] exported ONNX ({report.Nodes} nodes, {report.Bytes / 1e6:F1} MB): {Markup.Escape(report.Path)}");
}

// 4. Scoring through ML.NET: LoadImages → SegmentPanoptic (ONNX Runtime inside ApplyOnnxModel).
var groundTruth = CocoPanopticDataset.Load(Path.Combine(valFolder, SyntheticPanopticDataset.AnnotationsFile));
var imagesFolder = Path.Combine(valFolder, SyntheticPanopticDataset.ImagesFolder);
var ml = new MLContext(seed: 1);
var rows = groundTruth.Images.Select(i => new ImageRow { ImagePath = Path.Combine(imagesFolder, i.FileName), ImageId = i.Id }).ToArray();
var data = ml.Data.LoadFromEnumerable(rows);
var pipeline = ml.Transforms.LoadImages("Image", null, nameof(ImageRow.ImagePath))
    .Append(ml.Transforms.SegmentPanoptic(new SegmentPanopticOptions
    {
        ModelPath = onnxPath,
        ObjectMaskThreshold = settings.OnnxModel is null ? settings.ObjectMaskThreshold : null,
    }));
var scoringWatch = Stopwatch.StartNew();
var model = pipeline.Fit(data);
var scored = model.Transform(data);
var predFolder = Path.Combine(settings.Output, "predictions", "panoptic");
Directory.CreateDirectory(predFolder);
var annotations = new List<CocoPanopticAnnotation>();
var maps = new Dictionary<string, (uint[] Map, int Width, int Height, CocoPanopticSegment[] Segments)>();
using (var cursor = scored.GetRowCursor(scored.Schema))
{
    var idGetter = cursor.GetGetter<ReadOnlyMemory<char>>(scored.Schema[nameof(ImageRow.ImageId)]);
    var mapGetter = cursor.GetGetter<VBuffer<uint>>(scored.Schema[PanopticColumnNames.PredictedSegmentMap]);
    var hGetter = cursor.GetGetter<int>(scored.Schema[PanopticColumnNames.ImageHeight]);
    var wGetter = cursor.GetGetter<int>(scored.Schema[PanopticColumnNames.ImageWidth]);
    var idsGetter = cursor.GetGetter<VBuffer<uint>>(scored.Schema[PanopticColumnNames.PredictedSegmentIds]);
    var catGetter = cursor.GetGetter<VBuffer<int>>(scored.Schema[PanopticColumnNames.PredictedCategoryIds]);
    ReadOnlyMemory<char> id = default;
    VBuffer<uint> map = default, segIds = default;
    VBuffer<int> cats = default;
    int h = 0, w = 0;
    while (cursor.MoveNext())
    {
        idGetter(ref id);
        mapGetter(ref map);
        hGetter(ref h);
        wGetter(ref w);
        idsGetter(ref segIds);
        catGetter(ref cats);
        var imageId = id.ToString();
        var pixels = map.DenseValues().ToArray();
        var fileName = groundTruth.Images.First(i => i.Id == imageId).FileName;
        var pngName = Path.ChangeExtension(fileName, ".png");
        Png.WriteIds(Path.Combine(predFolder, pngName), pixels, w, h);
        var ids = segIds.DenseValues().ToArray();
        var categories = cats.DenseValues().ToArray();
        var segments = ids.Select((s, k) => new CocoPanopticSegment(s, categories[k])).ToArray();
        annotations.Add(new CocoPanopticAnnotation(imageId, pngName, segments));
        maps[imageId] = (pixels, w, h, segments);
    }
}
var predJson = Path.Combine(settings.Output, "predictions", "panoptic.json");
new CocoPanopticDataset([], annotations, [], predJson).Save(predJson);
AnsiConsole.MarkupLine(string.Create(ci, $"[green]✓[/] scored {annotations.Count} images through ML.NET in {scoringWatch.Elapsed.TotalSeconds:F1} s: {Markup.Escape(predJson)}"));

// 5. PQ, exactly as panopticapi computes it.
var metrics = PanopticEvaluator.EvaluateFiles(Path.Combine(valFolder, SyntheticPanopticDataset.AnnotationsFile),
    Path.Combine(valFolder, SyntheticPanopticDataset.SegmentMapsFolder), predJson, predFolder);
Console.WriteLine();
Console.Write(metrics.ToString());
Console.WriteLine();

// 6. Pictures: overlays of the first validation images and the per-class PQ chart.
var visuals = Path.Combine(settings.Output, "visuals");
Directory.CreateDirectory(visuals);
var names = groundTruth.Categories.ToDictionary(c => c.Id, c => c.Name);
foreach (var image in groundTruth.Images.Take(8))
{
    var (pixels, w, h, segments) = maps[image.Id];
    var overlaySegments = segments.Select(s => new OverlaySegment(s.Id, s.CategoryId, names.GetValueOrDefault(s.CategoryId, s.CategoryId.ToString(ci)))).ToArray();
    SegmentationOverlay.Save(Path.Combine(visuals, Path.GetFileNameWithoutExtension(image.FileName) + "_overlay.png"),
        Path.Combine(imagesFolder, image.FileName), pixels, w, h, overlaySegments, new OverlayOptions { Scale = 4, MinLabelArea = 40 });
}
var chart = Path.Combine(visuals, "pq_per_class.png");
PanopticQualityChart.Save(chart, metrics, title: "QuickStart: PQ per class on held-out images");
AnsiConsole.MarkupLine($"[green]✓[/] overlays and chart in {Markup.Escape(visuals)}");

var verdict = metrics.PanopticQuality >= 0.6 ? "[green]PQ ≥ 0.6[/]" : "[yellow]PQ below 0.6: train longer (--steps)[/]";
AnsiConsole.MarkupLine(string.Create(ci, $"[bold]Done in {total.Elapsed.TotalMinutes:F1} min.[/] PQ {100 * metrics.PanopticQuality:F1} on {metrics.All.CategoryCount} categories; {verdict}"));
AnsiConsole.MarkupLine($"  model:       {Markup.Escape(onnxPath)}");
AnsiConsole.MarkupLine($"  predictions: {Markup.Escape(predJson)} + {Markup.Escape(predFolder)}");
AnsiConsole.MarkupLine($"  pictures:    {Markup.Escape(visuals)}");
return 0;

static SyntheticPanopticOptions Synthetic(QuickStartSettings s, int count, int seed) => new()
{
    ImageCount = count,
    Width = s.Size,
    Height = s.Size,
    MaxThingsPerImage = 4,
    Seed = seed,
    ColourByCategory = true,
    MinThingSize = 0.15,
    MaxThingSize = 0.3,
};

/// <summary>Reports training progress synchronously, on the training thread.</summary>
internal sealed class Reporter(Action<TrainingProgress> report) : IProgress<TrainingProgress>
{
    public void Report(TrainingProgress value) => report(value);
}

/// <summary>One input row of the scoring pipeline.</summary>
internal sealed class ImageRow
{
    public string ImagePath { get; set; } = "";
    public string ImageId { get; set; } = "";
}

/// <summary>Command-line settings.</summary>
internal sealed record QuickStartSettings(string Output, long Steps, string? TrainData, string? ValData, string? OnnxModel, int Size, int Threads, double ObjectMaskThreshold)
{
    public static QuickStartSettings Parse(string[] args)
    {
        var s = new QuickStartSettings(Path.GetFullPath("quickstart-output"), 900, null, null, null, 128, Environment.ProcessorCount, 0.5);
        for (var i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            s = args[i] switch
            {
                "--out" => s with { Output = Path.GetFullPath(Next()) },
                "--steps" => s with { Steps = long.Parse(Next(), CultureInfo.InvariantCulture) },
                "--data" => s with { TrainData = Path.GetFullPath(Next()) },
                "--val" => s with { ValData = Path.GetFullPath(Next()) },
                "--onnx" => s with { OnnxModel = Path.GetFullPath(Next()) },
                "--size" => s with { Size = int.Parse(Next(), CultureInfo.InvariantCulture) },
                "--threads" => s with { Threads = int.Parse(Next(), CultureInfo.InvariantCulture) },
                "--object-mask-threshold" => s with { ObjectMaskThreshold = double.Parse(Next(), CultureInfo.InvariantCulture) },
                _ => throw new ArgumentException($"unknown option '{args[i]}' (options: --out DIR --steps N --data DIR --val DIR --onnx F --size S --threads N --object-mask-threshold T)"),
            };
        }
        if (s.TrainData is not null && s.ValData is null) throw new ArgumentException("--data needs --val (a validation folder in the same layout)");
        return s;
    }
}
