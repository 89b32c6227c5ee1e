using System.CommandLine;
using Mask2Former.Cli.Commands;

namespace Mask2Former.Cli;

/// <summary>Entry point of <c>m2f</c>.</summary>
public static class Program
{
    /// <summary>Runs the command line; exit code 0 on success, 2 on bad input or usage, 1 on an unexpected failure.</summary>
    public static int Main(string[] args)
    {
        if (args is ["eval", .. var evalArguments]) NativeEvaluator.TryReplaceProcess(evalArguments);
        return Run(args, Console.Out, Console.Error);
    }

    /// <summary>Runs the command line with the given writers (used by tests).</summary>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr) =>
        CliRunner.Run("m2f", "", BuildRoot(stdout, stderr, args.Length > 0 ? args[0] : null), args, stdout, stderr);

    /// <summary>The top-level commands, as the first argument names them.</summary>
    internal static readonly string[] CommandNames = ["eval", "forward", "segment", "train", "export", "sweep", "render", "convert", "test", "merge"];

    /// <summary>
    /// The command tree: the whole tree, or only the top-level command <paramref name="first"/>
    /// when the first argument names one. A run of one command then builds (and loads the
    /// assemblies of) that command alone: <c>m2f eval</c> never loads the training library.
    /// </summary>
    internal static RootCommand BuildRoot(TextWriter stdout, TextWriter stderr, string? first = null)
    {
        var only = first is not null && CommandNames.Contains(first, StringComparer.Ordinal) ? first : null;
        bool Wanted(string name) => only is null || only == name;
        var root = new RootCommand("m2f: Mask2Former for .NET: evaluate, segment, train and export from the shell.");
        Command? eval = null;
        if (Wanted("eval"))
        {
            eval = new Command("eval", "Evaluate predictions against ground truth (panoptic PQ, COCO AP, semantic mIoU).");
            eval.Subcommands.Add(EvalPanopticCommand.Create(stdout, stderr));
            eval.Subcommands.Add(EvalSemanticCommand.Create(stdout, stderr));
            root.Subcommands.Add(eval);
        }
        if (Wanted("forward")) root.Subcommands.Add(ForwardCommand.Create(stdout, stderr));
        CommandHooks.AddAll(root, eval, stdout, stderr, Wanted);
        return root;
    }
}
