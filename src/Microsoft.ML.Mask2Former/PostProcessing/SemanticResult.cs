using System.Collections.Immutable;

namespace Microsoft.ML.Mask2Former.PostProcessing;

/// <summary>A semantic segmentation of one image.</summary>
public sealed class SemanticResult
{
    internal SemanticResult(int height, int width, int numClasses, ImmutableArray<int> classMap, ImmutableArray<float> scores)
    {
        Height = height;
        Width = width;
        NumClasses = numClasses;
        ClassMap = classMap;
        Scores = scores;
    }

    /// <summary>Rows.</summary>
    public int Height { get; }

    /// <summary>Columns.</summary>
    public int Width { get; }

    /// <summary>K, the number of classes.</summary>
    public int NumClasses { get; }

    /// <summary>Row-major <c>Height × Width</c> class of every pixel: the argmax of <see cref="Scores"/> (first class on ties).</summary>
    public ImmutableArray<int> ClassMap { get; }

    /// <summary>
    /// The soft scores <c>[K, Height, Width]</c> (what detectron2 returns as <c>sem_seg</c>), or
    /// an empty array unless requested with <see cref="SemanticOptions.IncludeScores"/>.
    /// </summary>
    public ImmutableArray<float> Scores { get; }
}
