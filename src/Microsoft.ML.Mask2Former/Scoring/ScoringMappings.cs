using Microsoft.ML.Mask2Former.PostProcessing;

namespace Microsoft.ML.Mask2Former.Scoring;

/// <summary>
/// The per-row functions of the scoring pipeline's custom mappings. They hold no state: every
/// per-model setting arrives in the row (the <c>m2f.Config</c> / <c>m2f.Labels</c> columns), so a
/// reloaded model behaves exactly like the one that was saved.
/// </summary>
internal static class ScoringMappings
{
    public const string DecodeContract = "Mask2Former.Decode.v1";
    public const string LetterboxContract = "Mask2Former.Letterbox.v1";
    public const string PanopticContract = "Mask2Former.Panoptic.v1";
    public const string InstancesContract = "Mask2Former.Instances.v1";
    public const string SemanticContract = "Mask2Former.Semantic.v1";

    public static void Decode(DecodeRow input, DecodedRow output)
    {
        var image = input.Image ?? throw new InvalidOperationException(
            "the image column holds no image for this row (an empty path given to LoadImages?).");
        if (image.Width < 1 || image.Height < 1) throw new InvalidOperationException($"the image {image.Tag} is {image.Width}×{image.Height}.");
        try
        {
            output.Rgb = ImagePreprocessor.ReadRgb(image);
        }
        catch (InvalidOperationException e)
        {
            throw new InvalidOperationException($"image '{image.Tag}': {e.Message}", e);
        }
        output.Size = [image.Height, image.Width];
    }

    public static void Letterbox(LetterboxRow input, PixelValuesRow output)
    {
        var settings = ScoringSettings.FromColumns(input.Config, [], withLabels: false);
        var (height, width) = Size(input.Size);
        var length = 3 * settings.InputHeight * settings.InputWidth;
        if (output.PixelValues.Length != length) output.PixelValues = new float[length];
        ScoringCore.Letterbox(input.Rgb, height, width, settings, output.PixelValues);
    }

    public static void Panoptic(LogitsRow input, PanopticRow output)
    {
        var (settings, geometry) = Prepare(input);
        var result = settings.Panoptic(Logits(input, settings), geometry);
        Fill(output, result, settings);
    }

    public static void Instances(LogitsRow input, InstancesRow output)
    {
        var (settings, geometry) = Prepare(input);
        var result = settings.Instances(Logits(input, settings), geometry);
        Fill(output, result, settings);
    }

    public static void Semantic(LogitsRow input, SemanticRow output)
    {
        var (settings, geometry) = Prepare(input);
        var result = Mask2FormerPostProcessor.Semantic(Logits(input, settings), geometry, settings.SemanticOptions());
        output.ImageHeight = result.Height;
        output.ImageWidth = result.Width;
        if (output.SemanticMap.Length != result.ClassMap.Length) output.SemanticMap = new uint[result.ClassMap.Length];
        var map = output.SemanticMap;
        var classes = result.ClassMap.AsSpan();
        var ids = settings.Labels;
        for (var i = 0; i < map.Length; i++) map[i] = (uint)ids[classes[i]].Id;
    }

    internal static void Fill(PanopticRow output, PanopticResult result, ScoringSettings settings)
    {
        output.ImageHeight = result.Height;
        output.ImageWidth = result.Width;
        if (output.SegmentMap.Length != result.SegmentIds.Length) output.SegmentMap = new uint[result.SegmentIds.Length];
        var map = output.SegmentMap;
        var ids = result.SegmentIds.AsSpan();
        for (var i = 0; i < map.Length; i++) map[i] = (uint)ids[i];
        var n = result.Segments.Length;
        output.SegmentIds = new uint[n];
        output.CategoryIds = new int[n];
        output.IsThing = new bool[n];
        output.Scores = new float[n];
        output.Areas = new long[n];
        output.Boxes = new float[4 * n];
        for (var i = 0; i < n; i++)
        {
            var s = result.Segments[i];
            output.SegmentIds[i] = (uint)s.Id;
            output.CategoryIds[i] = settings.Labels[s.CategoryId].Id;
            output.IsThing[i] = s.IsThing;
            output.Scores[i] = s.Score;
            output.Areas[i] = s.Area;
            Box(output.Boxes, i, s.Box);
        }
    }

    internal static void Fill(InstancesRow output, InstanceResult result, ScoringSettings settings)
    {
        output.ImageHeight = result.Height;
        output.ImageWidth = result.Width;
        var n = result.Instances.Length;
        output.CategoryIds = new int[n];
        output.Scores = new float[n];
        output.Areas = new long[n];
        output.Boxes = new float[4 * n];
        output.Masks = new string[n];
        for (var i = 0; i < n; i++)
        {
            var p = result.Instances[i];
            output.CategoryIds[i] = settings.Labels[p.ClassId].Id;
            output.Scores[i] = p.Score;
            output.Areas[i] = p.Mask.Area;
            Box(output.Boxes, i, p.Box);
            output.Masks[i] = CocoRle.EncodeRowMajor(p.Mask.ToBytes(), result.Height, result.Width).ToCompressedString();
        }
    }

    private static void Box(float[] boxes, int i, PixelBox box)
    {
        boxes[4 * i] = box.X;
        boxes[4 * i + 1] = box.Y;
        boxes[4 * i + 2] = box.Width;
        boxes[4 * i + 3] = box.Height;
    }

    private static (ScoringSettings Settings, ImageGeometry Geometry) Prepare(LogitsRow input)
    {
        var settings = ScoringSettings.FromColumns(input.Config, input.Labels);
        var (height, width) = Size(input.Size);
        return (settings, ScoringCore.LetterboxGeometry(height, width, settings));
    }

    private static Mask2FormerLogits Logits(LogitsRow input, ScoringSettings settings)
    {
        // A pipeline has no warning channel per row: NaN or infinite logits (damaged weights, an
        // overflowing input) would silently drop queries or pixels, so they stop the pipeline.
        var nonFinite = NonFiniteValues.Count(input.ClassLogits) + NonFiniteValues.Count(input.MaskLogits);
        if (nonFinite > 0)
        {
            var (height, width) = Size(input.Size);
            throw new InvalidOperationException(
                $"the model gave {nonFinite} NaN or infinite logits (of {input.ClassLogits.Length + (long)input.MaskLogits.Length}) for a {height}×{width} image: its weights are damaged or it overflows on this input.");
        }
        return ScoringCore.Logits(input.ClassLogits, input.MaskLogits, settings, settings.InputHeight, settings.InputWidth);
    }

    private static (int Height, int Width) Size(double[] size)
    {
        if (size.Length != 2 || !(size[0] >= 1) || !(size[1] >= 1))
            throw new InvalidOperationException($"the m2f.Size column must hold the image's height and width; found [{string.Join(", ", size)}].");
        return ((int)size[0], (int)size[1]);
    }
}
