using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace Mask2Former.Cli;

/// <summary>
/// <c>m2f eval ...</c> handed over to <c>m2f-eval</c>, the same commands compiled with Native AOT,
/// where the published tool carries it beside m2f.dll: the process image is replaced
/// (<c>execv</c>) before m2f builds anything, so the evaluation pays no further start-up or
/// compilation and its output, files and exit code are m2f-eval's, which are m2f eval's.
/// </summary>
internal static partial class NativeEvaluator
{
    /// <summary>The executable's file name beside m2f.dll.</summary>
    public const string FileName = "m2f-eval";

    /// <summary>Set to 0 to evaluate in this process instead.</summary>
    public const string Switch = "M2F_NATIVE_EVAL";

    /// <summary>Tells m2f-eval the name the user typed, for "see '… --help'" in its messages.</summary>
    public const string InvokedAs = "M2F_EVAL_INVOKED_AS";

    /// <summary>
    /// Replaces this process with m2f-eval running <paramref name="evalArguments"/> (what follows
    /// <c>eval</c>); returns only when there is no m2f-eval to run or it cannot be started, and
    /// then m2f evaluates in process.
    /// </summary>
    public static void TryReplaceProcess(string[] evalArguments)
    {
        if (!OperatingSystem.IsLinux() || Environment.GetEnvironmentVariable(Switch) == "0") return;
        // m2f-eval is compiled for x86-64-v3 and would refuse to start on an older CPU, after this
        // process is gone: such a CPU evaluates here.
        if (!(Avx2.IsSupported && Bmi1.IsSupported && Bmi2.IsSupported && Fma.IsSupported && Lzcnt.IsSupported)) return;
        var path = Path.Combine(AppContext.BaseDirectory, FileName);
        if (!File.Exists(path)) return;
        // The environment passed explicitly: .NET keeps its own copy, which execv would not see.
        var environment = Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>()
            .Where(e => (string)e.Key != InvokedAs).Select(e => $"{e.Key}={e.Value}");
        string?[] envp = [.. environment, $"{InvokedAs}=m2f eval", null];
        string?[] argv = [path, .. evalArguments, null];
        Exec(path, argv, envp);
    }

    [LibraryImport("libc", EntryPoint = "execve", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Exec(string path, string?[] argv, string?[] envp);
}
