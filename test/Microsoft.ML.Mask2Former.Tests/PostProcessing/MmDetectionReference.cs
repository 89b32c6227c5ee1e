using System.Text.Json;
using Microsoft.ML.Mask2Former.Formats;
using Microsoft.ML.Mask2Former.PostProcessing;

namespace Microsoft.ML.Mask2Former.Tests.PostProcessing;

/// <summary>
/// ../shared/reference/vit_adapter: the tiny Mask2Former + ViT-Adapter's logits (<c>io.safetensors</c>)
/// and mmdetection 2.25's <c>MaskFormerFusionHead</c> results on them (<c>postprocess.*</c>), with
/// each image's padded, image and original sizes (<c>config.json</c> <c>inputs</c>). Loaded once per run.
/// </summary>
internal sealed class MmDetectionReference
{
    private static readonly Lazy<MmDetectionReference> Instance = new(() => new());

    private MmDetectionReference()
    {
        var folder = Path.Combine(TestPaths.Reference, "vit_adapter");
        using (var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "postprocess.json"))))
            Root = doc.RootElement.Clone();
        using (var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "config.json"))))
            Config = doc.RootElement.Clone();
        Io = SafeTensorsReader.Open(Path.Combine(folder, "io.safetensors"));
        Tensors = SafeTensorsReader.Open(Path.Combine(folder, "postprocess.safetensors"));
    }

    public static MmDetectionReference Load => Instance.Value;

    /// <summary>postprocess.json.</summary>
    public JsonElement Root { get; }

    /// <summary>config.json.</summary>
    public JsonElement Config { get; }

    /// <summary>io.safetensors: the model's inputs and outputs.</summary>
    public SafeTensorsReader Io { get; }

    /// <summary>postprocess.safetensors.</summary>
    public SafeTensorsReader Tensors { get; }

    /// <summary>The images of postprocess.json, as (input, batch index) test cases.</summary>
    public static IEnumerable<object[]> Images =>
        Load.Root.GetProperty("images").EnumerateArray().Select(i => new object[] { i.GetProperty("input").GetString()!, i.GetProperty("batch_index").GetInt32() });

    /// <summary>The thing classes: 0 … num_things_classes − 1.</summary>
    public int[] ThingClasses => Enumerable.Range(0, Root.GetProperty("num_things_classes").GetInt32()).ToArray();

    /// <summary>The options in effect for the reference (test_cfg plus the fusion head's defaults).</summary>
    public MmDetectionOptions Options(bool filterLowScore)
    {
        var effective = Root.GetProperty("effective");
        return new MmDetectionOptions
        {
            ObjectMaskThreshold = effective.GetProperty("object_mask_thr").GetDouble(),
            IouThreshold = effective.GetProperty("iou_thr").GetDouble(),
            FilterLowScore = filterLowScore,
            MaxPerImage = effective.GetProperty("max_per_image").GetInt32(),
            ThingClasses = ThingClasses,
        };
    }

    /// <summary>The entry of postprocess.json <c>images</c> for one image.</summary>
    public JsonElement Image(string input, int b) =>
        Root.GetProperty("images").EnumerateArray().Single(i => i.GetProperty("input").GetString() == input && i.GetProperty("batch_index").GetInt32() == b);

    /// <summary>Class logits [Q, K+1] and mask logits [Q, h, w] of image <paramref name="b"/> of an input, with their shape.</summary>
    public (float[] Classes, float[] Masks, int Queries, int Classes1, int Height, int Width) Logits(string input, int b)
    {
        var classShape = Io[$"{input}.class_logits"].Shape;
        var maskShape = Io[$"{input}.mask_logits"].Shape;
        int q = (int)classShape[1], c = (int)classShape[2], h = (int)maskShape[2], w = (int)maskShape[3];
        var classes = Io.ReadSingles($"{input}.class_logits").AsSpan(b * q * c, q * c).ToArray();
        var masks = Io.ReadSingles($"{input}.mask_logits").AsSpan(b * q * h * w, q * h * w).ToArray();
        return (classes, masks, q, c, h, w);
    }

    /// <summary>The padded input, image (<c>img_shape</c>) and output (<c>ori_shape</c>) sizes of one image, from config.json.</summary>
    public ImageGeometry Geometry(string input, int b)
    {
        var entry = Config.GetProperty("inputs").GetProperty(input);
        var padded = Ints(entry.GetProperty("size"));
        var meta = entry.GetProperty("metas")[b];
        var image = Ints(meta.GetProperty("img_shape"));
        var original = Ints(meta.GetProperty("ori_shape"));
        return new ImageGeometry(padded[0], padded[1], image[0], image[1], original[0], original[1]);
    }

    public static int[] Ints(JsonElement array) => array.EnumerateArray().Select(e => e.GetInt32()).ToArray();
}
