using Microsoft.ML.Mask2Former.Formats;
using Microsoft.ML.Mask2Former.Synthetic;
using Microsoft.ML.Mask2Former.Training.Data;
using Microsoft.ML.Mask2Former.Training.Modeling;
using Microsoft.ML.Mask2Former.Training.Modeling.Swin;

namespace Microsoft.ML.Mask2Former.Training.Tests.Training;

/// <summary>Tiny networks and synthetic data sets shared by the trainer tests.</summary>
internal static class TrainingFixtures
{
    /// <summary>A network small enough to train in seconds on one CPU thread (about 0.2 M parameters).</summary>
    public static Mask2FormerConfig Tiny(double dropPath = 0.0) => new()
    {
        Backbone = new SwinConfig { EmbedDim = 16, Depths = [1, 1, 1, 1], NumHeads = [1, 1, 2, 2], WindowSize = 4, DropPathRate = dropPath },
        FeatureSize = 32,
        MaskFeatureSize = 32,
        HiddenDim = 32,
        EncoderFeedforwardDim = 64,
        EncoderLayers = 1,
        DecoderLayers = 3,
        NumAttentionHeads = 2,
        DimFeedforward = 64,
        NumQueries = 8,
        Labels = ["a"],
    };

    /// <summary>A synthetic data set folder (images/, panoptic.json, panoptic/).</summary>
    public static string Synthetic(int images, int size, int maxThings, int seed)
    {
        var folder = TestPaths.NewTempFolder();
        SyntheticPanopticDataset.Generate(folder, new SyntheticPanopticOptions { ImageCount = images, Width = size, Height = size, MaxThingsPerImage = maxThings, Seed = seed });
        return folder;
    }

    /// <summary>
    /// A synthetic data set whose category ids have gaps and whose JSON lists categories neither in
    /// id order nor things first, as real data sets do (COCO: ids 1–200 for 133 categories): things
    /// circle 1, square 2, triangle 7, cross 9; stuff sky 20, grass 33, sand 51.
    /// </summary>
    public static string SyntheticWithGappedIds(SyntheticPanopticOptions options)
    {
        var folder = TestPaths.NewTempFolder();
        var generated = SyntheticPanopticDataset.Generate(folder, options);
        var newId = new Dictionary<int, int> { [1] = 1, [2] = 2, [3] = 7, [4] = 9, [5] = 20, [6] = 33, [7] = 51 };
        int[] order = [20, 7, 1, 33, 2, 9, 51];
        var categories = generated.Categories.Select(c => c with { Id = newId[c.Id] }).OrderBy(c => Array.IndexOf(order, c.Id)).ToArray();
        var annotations = generated.Annotations
            .Select(a => a with { Segments = a.Segments.Select(s => s with { CategoryId = newId[s.CategoryId] }).ToArray() }).ToArray();
        new CocoPanopticDataset(generated.Images, annotations, categories).Save(Path.Combine(folder, SyntheticPanopticDataset.AnnotationsFile));
        return folder;
    }

    /// <summary>Fast settings for tests: no jitter, few points, one loader thread.</summary>
    public static Mask2FormerTrainerOptions Fast(long steps, int size) => new()
    {
        Config = Tiny(),
        MaxSteps = steps,
        BatchSize = 2,
        ImageSize = size,
        ResizeMode = ImageResizeMode.Resize,
        FlipProbability = 0,
        LearningRate = 1e-3,
        WarmupSteps = 0,
        NumPoints = 512,
        LoaderThreads = 1,
        ReportInterval = 1,
        ValidationInterval = 0,
        CheckpointInterval = 1_000_000,
    };
}

/// <summary>An <see cref="IProgress{T}"/> that runs on the reporting thread (Progress&lt;T&gt; posts asynchronously).</summary>
internal sealed class SyncProgress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
{
    public void Report(TrainingProgress value) => report(value);
}
