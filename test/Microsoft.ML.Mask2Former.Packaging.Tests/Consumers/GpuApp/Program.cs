// gpu-app pq VAL MODEL [--gpu N] [--fallback]
var gpu = args.Contains("--gpu") ? int.Parse(args[Array.IndexOf(args, "--gpu") + 1]) : (int?)null;
return args[0] switch
{
    "pq" => Scoring.Evaluate(args[1], args[2], gpu, args.Contains("--fallback")),
    _ => throw new ArgumentException($"unknown command {args[0]}"),
};
