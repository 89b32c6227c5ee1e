using System.CommandLine;
using Mask2Former.Cli.Commands;

namespace Mask2Former.Cli;

/// <summary>
/// Entry point of <c>m2f-eval</c>: <c>m2f eval</c>'s three commands (<c>panoptic</c>,
/// <c>instances</c>, <c>semantic</c>) with the same options, checks, output and exit codes,
/// compiled ahead of time.
/// </summary>
public static class Program
{
    /// <summary>Runs the command line; exit code 0 on success, 2 on bad input or usage, 1 on an unexpected failure.</summary>
    public static int Main(string[] args) => Run(args, Console.Out, Console.Error);

    /// <summary>Runs the command line with the given writers.</summary>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var root = new RootCommand("m2f-eval: panoptic PQ, COCO box/mask AP and semantic mIoU, as 'm2f eval' computes them (native code).");
        root.Subcommands.Add(EvalPanopticCommand.Create(stdout, stderr));
        root.Subcommands.Add(EvalSemanticCommand.Create(stdout, stderr));
        CommandHooks.AddAll(root, root, stdout, stderr, _ => false);
        // "m2f eval" when m2f handed its eval command over, else "m2f-eval".
        var tool = Environment.GetEnvironmentVariable("M2F_EVAL_INVOKED_AS") == "m2f eval" ? "m2f eval" : "m2f-eval";
        return CliRunner.Run(tool, "eval", root, args, stdout, stderr);
    }
}
