using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace Microsoft.ML.Mask2Former.Training.Tests;

/// <summary>Runs <c>m2f</c> in-process with captured output, or as a child process as a user runs it.</summary>
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

    /// <summary>
    /// Starts <c>dotnet m2f.dll</c> (built beside the tests) with one intra-op thread and the given
    /// extra environment variables, collecting stdout and stderr into <paramref name="log"/>.
    /// </summary>
    public static Process Start(string[] arguments, StringBuilder log, IReadOnlyDictionary<string, string>? environment = null)
    {
        var cli = Path.Combine(AppContext.BaseDirectory, "m2f.dll");
        Assert.IsTrue(File.Exists(cli), $"the m2f CLI is not built beside the tests ({cli})");
        var start = new ProcessStartInfo(DotnetHost())
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add(cli);
        foreach (var a in arguments) start.ArgumentList.Add(a);
        // As in this test process (one torch thread), and no spinning OpenMP workers on a shared machine.
        start.Environment["OMP_NUM_THREADS"] = "1";
        start.Environment["OMP_WAIT_POLICY"] = "PASSIVE";
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) start.Environment[name] = value;
        var process = new Process { StartInfo = start };
        DataReceivedEventHandler append = (_, e) =>
        {
            if (e.Data is null) return;
            lock (log) log.AppendLine(e.Data);
        };
        process.OutputDataReceived += append;
        process.ErrorDataReceived += append;
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>The <c>dotnet</c> host running these tests (DOTNET_HOST_PATH, else the one above the shared runtime folder).</summary>
    private static string DotnetHost()
    {
        if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host)) return host;
        var name = OperatingSystem.IsWindows() ? "dotnet.exe" : "dotnet";
        // RuntimeEnvironment: <root>/shared/Microsoft.NETCore.App/<version>/
        var candidate = Path.GetFullPath(Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", "..", name));
        return File.Exists(candidate) ? candidate : name;
    }
}
