using System.CommandLine;

namespace Mask2Former.Cli;

/// <summary>What m2f and m2f-eval do with a parsed command line, written once for both.</summary>
internal static class CliRunner
{
    /// <summary>
    /// Parses <paramref name="args"/> against <paramref name="root"/>; a usage error is one line
    /// (exit 2). Before any command runs: sane numbers, and no output that would overwrite an input.
    /// </summary>
    /// <param name="tool">The executable's name, for "see '… --help'".</param>
    /// <param name="commandPrefix">What precedes this tool's command names under m2f ("eval" for m2f-eval).</param>
    /// <param name="root">The command tree.</param>
    /// <param name="args">The arguments.</param>
    /// <param name="stdout">Standard output.</param>
    /// <param name="stderr">Standard error.</param>
    public static int Run(string tool, string commandPrefix, RootCommand root, string[] args, TextWriter stdout, TextWriter stderr)
    {
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            // One line, as every other error.
            var command = OutputPaths.CommandName(parse.CommandResult);
            stderr.WriteLine($"m2f: error: {string.Join("; ", parse.Errors.Select(e => e.Message.ReplaceLineEndings(" ")))} (see '{tool} {(command.Length > 0 ? command + " " : "")}--help')");
            return CliExit.BadInput;
        }
        var checkedPaths = CliExit.Guard(stderr, () =>
        {
            CliLimits.Check(parse);
            OutputPaths.Check(parse, commandPrefix);
            return CliExit.Ok;
        });
        if (checkedPaths != CliExit.Ok) return checkedPaths;
        var config = new InvocationConfiguration { Output = stdout, Error = stderr };
        return parse.Invoke(config);
    }
}
