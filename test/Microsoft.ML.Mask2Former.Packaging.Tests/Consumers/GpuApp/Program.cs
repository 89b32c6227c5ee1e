// gpu-app pq JSON PNGS IMAGES MODEL [--gpu N] [--fallback]
var gpu = args.Contains("--gpu") ? int.Parse(args[Array.IndexOf(args, "--gpu") + 1]) : (int?)null;
return args[0] switch
{
    "pq" => Scoring.Evaluate(args[1], args[2], args[3], args[4], gpu, args.Contains("--fallback")),
    _ => throw new ArgumentException($"unknown command {args[0]}"),
};
