namespace Microsoft.ML.Mask2Former.Training.Tests;

/// <summary>Runs <c>m2f</c> in-process with captured output (<see cref="ChildProcess"/> runs it as a user does).</summary>
internal static class CommandLine
{
    /// <summary>The exit code, standard output and standard error of <c>m2f <paramref name="args"/></c>.</summary>
    public static (int Code, string Out, string Err) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = global::Mask2Former.Cli.Program.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }
}
