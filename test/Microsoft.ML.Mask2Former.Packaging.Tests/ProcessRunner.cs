using System.Diagnostics;
using System.Text;

namespace Microsoft.ML.Mask2Former.Packaging.Tests;

/// <summary>The outcome of a finished process: its exit code and its output (stdout and stderr interleaved).</summary>
internal sealed record ProcessResult(string Command, int ExitCode, string Output, TimeSpan Elapsed)
{
    /// <summary>Fails the test, showing the command and its output, unless the process exited with 0.</summary>
    public ProcessResult Succeeded()
    {
        if (ExitCode != 0) Assert.Fail($"`{Command}` exited with {ExitCode}:\n{Output}");
        return this;
    }

    /// <summary>The output lines that are warnings (MSBuild / NuGet / compiler: "warning XX1234:").</summary>
    public string[] Warnings => Output.Split('\n').Where(l => l.Contains(" warning ", StringComparison.Ordinal) || l.StartsWith("warning ", StringComparison.Ordinal)).Select(l => l.Trim()).Distinct().ToArray();
}

/// <summary>Runs `dotnet` and other programs as a user would from a shell, with a time limit.</summary>
internal static class ProcessRunner
{
    /// <summary>Runs <c>dotnet</c> with the arguments in <paramref name="folder"/>.</summary>
    public static ProcessResult DotNet(string folder, IEnumerable<string> arguments, TimeSpan limit, IReadOnlyDictionary<string, string>? environment = null) =>
        Run("dotnet", folder, arguments, limit, environment);

    /// <summary>Runs <paramref name="program"/>; on time-out the process tree is killed and the test fails with the output so far.</summary>
    public static ProcessResult Run(string program, string folder, IEnumerable<string> arguments, TimeSpan limit, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(program)
        {
            WorkingDirectory = folder,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var a in arguments) start.ArgumentList.Add(a);
        // As from a shell: no MSBuild state of the `dotnet test` that started this host, no build servers left behind.
        foreach (var name in new[] { "MSBuildExtensionsPath", "MSBUILD_EXE_PATH", "MSBuildSDKsPath", "MSBuildLoadMicrosoftTargetsReadOnly", "DOTNET_HOST_PATH" })
            start.Environment.Remove(name);
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        start.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        start.Environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
        start.Environment["OMP_WAIT_POLICY"] = "PASSIVE";
        if (environment is not null)
            foreach (var (k, v) in environment) start.Environment[k] = v;

        var command = $"{program} {string.Join(' ', start.ArgumentList)}";
        var output = new StringBuilder();
        var watch = Stopwatch.StartNew();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit(limit))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            lock (output) Assert.Fail($"`{command}` did not finish within {limit.TotalSeconds:F0} s:\n{output}");
        }
        process.WaitForExit();
        lock (output) return new ProcessResult(command, process.ExitCode, output.ToString(), watch.Elapsed);
    }
}
