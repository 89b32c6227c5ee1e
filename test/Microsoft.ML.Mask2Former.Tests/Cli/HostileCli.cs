using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace Microsoft.ML.Mask2Former.Tests.Cli;

/// <summary>
/// Runs <c>m2f</c> in-process on a careless or hostile input and checks what every such run must
/// show: exit code 2, one error line naming the problem (the last line of stderr, no other error
/// line), no stack trace, an end within seconds with bounded managed allocation, and every input
/// file byte-identical afterwards. Shared by the CLI tests of both test projects.
/// </summary>
internal static class HostileCli
{
    /// <summary>The longest a refusal may take (the machine is shared; most take well under a second).</summary>
    public static readonly TimeSpan MaxSeconds = TimeSpan.FromSeconds(30);

    /// <summary>The most managed memory a refused run may allocate.</summary>
    public const long MaxAllocatedBytes = 1L << 30;

    /// <summary>What a run printed and returned.</summary>
    public sealed record Outcome(int Code, string Out, string Err, TimeSpan Elapsed, long AllocatedBytes);

    /// <summary>Runs <c>m2f</c> with <paramref name="args"/> in this process.</summary>
    public static Outcome Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var allocated = GC.GetTotalAllocatedBytes(precise: true);
        var watch = Stopwatch.StartNew();
        var code = global::Mask2Former.Cli.Program.Run(args, stdout, stderr);
        watch.Stop();
        return new Outcome(code, stdout.ToString(), stderr.ToString(), watch.Elapsed, GC.GetTotalAllocatedBytes(precise: true) - allocated);
    }

    /// <summary>
    /// Runs <paramref name="args"/> and asserts the refusal: exit 2; one "m2f: error:" line, the last,
    /// containing every part of <paramref name="expected"/>; no stack trace; within
    /// <see cref="MaxSeconds"/> and <see cref="MaxAllocatedBytes"/>; every file under
    /// <paramref name="inputs"/> unchanged. Returns the error line.
    /// </summary>
    public static string AssertRefused(IReadOnlyList<string> inputs, string[] args, params string[] expected)
    {
        var before = Snapshot(inputs);
        var outcome = Run(args);
        var all = $"m2f {string.Join(' ', args)}\nexit {outcome.Code}\nstdout:\n{outcome.Out}\nstderr:\n{outcome.Err}";
        Assert.AreEqual(2, outcome.Code, all);
        var lines = outcome.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.IsNotEmpty(lines, all);
        var error = lines[^1];
        StringAssert.StartsWith(error, "m2f: error: ", all);
        Assert.AreEqual(1, lines.Count(l => l.StartsWith("m2f: error", StringComparison.Ordinal) || l.StartsWith("m2f: unexpected", StringComparison.Ordinal)), all);
        foreach (var line in (outcome.Out + "\n" + outcome.Err).Split('\n'))
        {
            Assert.IsFalse(line.TrimStart().StartsWith("at ", StringComparison.Ordinal) && line.Contains('(', StringComparison.Ordinal), $"a stack trace:\n{all}");
            Assert.IsFalse(line.Contains("Exception:", StringComparison.Ordinal) || line.Contains("--->", StringComparison.Ordinal), $"an exception dump:\n{all}");
        }
        foreach (var part in expected) StringAssert.Contains(error, part, all);
        Assert.IsLessThan(MaxSeconds, outcome.Elapsed, all);
        Assert.IsLessThan(MaxAllocatedBytes, outcome.AllocatedBytes, $"allocated {outcome.AllocatedBytes:N0} bytes\n{all}");
        AssertUnchanged(before, Snapshot(inputs), all);
        return error;
    }

    /// <summary>
    /// SHA-256 of every file under <paramref name="roots"/> (files or folders). Non-regular or empty
    /// files (FIFOs among the hostile inputs) are recorded by their size only: opening a FIFO blocks.
    /// </summary>
    public static Dictionary<string, string> Snapshot(IEnumerable<string> roots)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var root in roots)
        {
            var files = File.Exists(root) ? [root] : Directory.Exists(root) ? Directory.GetFiles(root, "*", SearchOption.AllDirectories) : [];
            foreach (var file in files)
            {
                var info = new FileInfo(file);
                if (info.Length == 0)
                {
                    result[file] = "empty or not a regular file";
                    continue;
                }
                using var stream = File.OpenRead(file);
                result[file] = Convert.ToHexString(SHA256.HashData(stream));
            }
        }
        return result;
    }

    /// <summary>Asserts two snapshots name the same files with the same contents.</summary>
    public static void AssertUnchanged(Dictionary<string, string> before, Dictionary<string, string> after, string context)
    {
        var changed = before.Keys.Union(after.Keys)
            .Where(k => before.GetValueOrDefault(k) != after.GetValueOrDefault(k))
            .Select(k => $"{k}: {(before.ContainsKey(k) ? after.ContainsKey(k) ? "changed" : "deleted" : "created")}")
            .ToList();
        Assert.IsEmpty(changed, $"inputs changed: {string.Join("; ", changed)}\n{context}");
    }

    /// <summary>Copies a folder with everything below it.</summary>
    public static void CopyFolder(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var dir in Directory.GetDirectories(from, "*", SearchOption.AllDirectories)) Directory.CreateDirectory(dir.Replace(from, to, StringComparison.Ordinal));
        foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories)) File.Copy(file, file.Replace(from, to, StringComparison.Ordinal));
    }

    /// <summary>Creates a FIFO (named pipe) at <paramref name="path"/>; false where the platform has none.</summary>
    public static bool TryMakeFifo(string path)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return false;
        return MakeFifo(path, Convert.ToUInt32("600", 8)) == 0;
    }

    [DllImport("libc", EntryPoint = "mkfifo", SetLastError = true)]
    private static extern int MakeFifo([MarshalAs(UnmanagedType.LPUTF8Str)] string path, uint mode);
}

/// <summary>One hostile case: the command line and the parts its one error line must contain.</summary>
public sealed record HostileCase(string[] Args, params string[] Expected);

/// <summary>The inputs a family of hostile cases runs on, made once in a fresh folder.</summary>
public interface IHostileFixture
{
    /// <summary>Every input file or folder, for the before/after snapshots.</summary>
    IReadOnlyList<string> Inputs { get; }
}

/// <summary>A test class's table of hostile cases and how it makes their inputs.</summary>
public interface IHostileCases<TFixture> where TFixture : IHostileFixture
{
    /// <summary>Makes the inputs under <paramref name="root"/>.</summary>
    static abstract TFixture MakeFixture(string root);

    /// <summary>The cases by name, each built on the fixture.</summary>
    static abstract IReadOnlyDictionary<string, Func<TFixture, HostileCase>> Cases { get; }
}

/// <summary>
/// Runs every case of <typeparamref name="TCases"/> as its own test through
/// <see cref="HostileCli.AssertRefused"/>, on inputs made once per test class (<see cref="F"/>).
/// </summary>
public abstract class HostileCaseTests<TCases, TFixture>
    where TCases : IHostileCases<TFixture>
    where TFixture : IHostileFixture
{
    private static readonly Lazy<TFixture> Inputs = new(() => TCases.MakeFixture(TestPaths.NewTempFolder()));

    /// <summary>The inputs, made on first use.</summary>
    protected static TFixture F => Inputs.Value;

    public TestContext TestContext { get; set; } = null!;

    public static IEnumerable<object[]> CaseNames => TCases.Cases.Keys.Select(k => new object[] { k });

    [TestMethod]
    [DynamicData(nameof(CaseNames))]
    public void IsRefusedWithOneLineAndLeavesTheInputsAsTheyWere(string name)
    {
        var (args, expected) = TCases.Cases[name](F);
        TestContext.WriteLine(HostileCli.AssertRefused(F.Inputs, args, expected));
    }
}
