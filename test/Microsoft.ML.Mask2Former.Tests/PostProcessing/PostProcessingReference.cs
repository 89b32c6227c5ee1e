using System.Text.Json;
using Microsoft.ML.Mask2Former.Formats;

namespace Microsoft.ML.Mask2Former.Tests.PostProcessing;

/// <summary>
/// The post-processing references in ../shared/reference/model: <c>d2_postprocess.*</c> (original
/// detectron2 Mask2Former) and <c>small_postprocess.*</c> (Hugging Face), with the model outputs
/// they were computed from. Loaded once per test run.
/// </summary>
internal sealed class PostProcessingReference
{
    private static readonly Lazy<PostProcessingReference> D2Instance = new(() => new("d2_postprocess"));
    private static readonly Lazy<PostProcessingReference> HfInstance = new(() => new("small_postprocess"));

    private readonly Dictionary<string, float[]> _floats = new();
    private readonly SafeTensorsReader _tensors;

    private PostProcessingReference(string name)
    {
        var folder = Path.Combine(TestPaths.Reference, "model");
        using (var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, name + ".json"))))
            Root = doc.RootElement.Clone();
        _tensors = SafeTensorsReader.Open(Path.Combine(folder, name + ".safetensors"));
        Io = name == "small_postprocess" ? SafeTensorsReader.Open(Path.Combine(folder, "small_io.safetensors")) : _tensors;
    }

    public static PostProcessingReference D2 => D2Instance.Value;

    public static PostProcessingReference HuggingFace => HfInstance.Value;

    public JsonElement Root { get; }

    public SafeTensorsReader Tensors => _tensors;

    /// <summary>Where the model outputs come from (the same file for d2; small_io for Hugging Face).</summary>
    public SafeTensorsReader Io { get; }

    public float[] Floats(SafeTensorsReader file, string key)
    {
        lock (_floats)
        {
            if (!_floats.TryGetValue(key, out var value)) _floats[key] = value = file.ReadSingles(key);
            return value;
        }
    }

    /// <summary>Class logits [Q, K+1] and mask logits [Q, h, w] of image <paramref name="b"/> of an input.</summary>
    public (float[] Classes, float[] Masks, int Queries, int ClassesPlusOne, int Height, int Width) Image(string classKey, string maskKey, int b)
    {
        var classShape = Io[classKey].Shape;
        var maskShape = Io[maskKey].Shape;
        int q = (int)classShape[1], c = (int)classShape[2], h = (int)maskShape[2], w = (int)maskShape[3];
        var classes = Floats(Io, classKey).AsSpan(b * q * c, q * c).ToArray();
        var masks = Floats(Io, maskKey).AsSpan(b * q * h * w, q * h * w).ToArray();
        return (classes, masks, q, c, h, w);
    }

    public static IEnumerable<object[]> D2Runs =>
        D2.Root.GetProperty("runs").EnumerateArray().Select(r => new object[] { r.GetProperty("name").GetString()! });

    public static IEnumerable<object[]> HfCases =>
        HuggingFace.Root.GetProperty("cases").EnumerateArray().Select(r => new object[] { r.GetProperty("case").GetString()! });

    public static JsonElement Find(JsonElement array, string field, string name) =>
        array.EnumerateArray().Single(e => e.GetProperty(field).GetString() == name);

    public static int[] Ints(JsonElement array) => array.EnumerateArray().Select(e => e.GetInt32()).ToArray();
}
