// app synth DIR | app pq JSON PNGS IMAGES MODEL | app compare OUT.safetensors REFERENCE.safetensors
using Microsoft.ML.Mask2Former.Training.Checkpoints;
using static TorchSharp.torch;

return args[0] switch
{
    "synth" => Synthesize(args[1]),
    "pq" => Scoring.Evaluate(args[1], args[2], args[3], args[4], gpu: null, fallback: false),
    "compare" => Compare(args[1], args[2]),
    _ => throw new ArgumentException($"unknown command {args[0]}"),
};

static int Synthesize(string folder)
{
    Scoring.Synthesize(folder);
    return 0;
}

// m2f forward's logits against the reference's, read with the Training package's safetensors reader into TorchSharp.
static int Compare(string output, string reference)
{
    using var actual = SafeTensorsFile.Open(output);
    using var expected = SafeTensorsFile.Open(reference);
    var worst = 0.0;
    foreach (var name in new[] { "A.class_queries_logits", "A.masks_queries_logits", "B.class_queries_logits", "B.masks_queries_logits" })
    {
        using var scope = NewDisposeScope();
        var difference = (actual.ReadTensor("input." + name) - expected.ReadTensor(name)).abs().max().item<float>();
        Console.WriteLine($"{name}: max |difference| {difference:G3}");
        worst = Math.Max(worst, difference);
    }
    return worst <= 1e-4 ? 0 : 1;
}
