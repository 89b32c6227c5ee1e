using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace Microsoft.ML.Mask2Former.Training.Tests;

/// <summary>Child processes of the tests: <c>m2f</c> (built beside the tests) run by the same <c>dotnet</c> host, alone or under a launcher.</summary>
internal static class ChildProcess
{
    /// <summary>The <c>m2f</c> CLI built beside the tests.</summary>
    public static string Cli
    {
        get
        {
            var cli = Path.Combine(AppContext.BaseDirectory, "m2f.dll");
            Assert.IsTrue(File.Exists(cli), $"the m2f CLI is not built beside the tests ({cli})");
            return cli;
        }
    }

    /// <summary>The <c>dotnet</c> host running these tests (DOTNET_HOST_PATH, else the one above the shared runtime folder).</summary>
    public static string DotnetHost()
    {
        if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host)) return host;
        var name = OperatingSystem.IsWindows() ? "dotnet.exe" : "dotnet";
        // RuntimeEnvironment: <root>/shared/Microsoft.NETCore.App/<version>/
        var candidate = Path.GetFullPath(Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", "..", name));
        return File.Exists(candidate) ? candidate : name;
    }

    /// <summary>
    /// Starts <paramref name="program"/> with <paramref name="arguments"/>, one intra-op thread and
    /// passive OpenMP workers (as in this test process, on a shared machine), collecting stdout and
    /// stderr into <paramref name="log"/>.
    /// </summary>
    public static Process Start(string program, IEnumerable<string> arguments, StringBuilder log, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(program)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var a in arguments) start.ArgumentList.Add(a);
        start.Environment["OMP_NUM_THREADS"] = "1";
        start.Environment["OMP_WAIT_POLICY"] = "PASSIVE";
        foreach (var (k, v) in environment ?? new Dictionary<string, string>()) start.Environment[k] = v;
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

    /// <summary>Starts <c>dotnet m2f.dll</c> with <paramref name="arguments"/>.</summary>
    public static Process StartCli(IEnumerable<string> arguments, StringBuilder log, IReadOnlyDictionary<string, string>? environment = null) =>
        Start(DotnetHost(), [Cli, .. arguments], log, environment);

    /// <summary>What a process wrote so far.</summary>
    public static string Output(StringBuilder log)
    {
        lock (log) return log.ToString();
    }

    /// <summary>Waits for <paramref name="process"/> (killing its tree after <paramref name="timeout"/>); returns whether it ended in time.</summary>
    public static bool WaitOrKill(Process process, TimeSpan timeout)
    {
        if (process.WaitForExit(timeout))
        {
            process.WaitForExit(); // drains the output readers
            return true;
        }
        process.Kill(entireProcessTree: true);
        process.WaitForExit();
        return false;
    }
}
