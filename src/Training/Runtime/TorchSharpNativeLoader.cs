using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Loader;
using System.Security.Cryptography;
using System.Text;

namespace Microsoft.ML.Mask2Former.Training.Runtime;

/// <summary>
/// The run-time half of the TorchSharp / older-libstdc++ fix (<see cref="GlibcxxVersionFix"/>). The
/// build step fixes the copy of libLibTorchSharp.so in an application's output, but some hosts load
/// it from where no build step ran: a .NET Interactive notebook loads TorchSharp straight from the
/// NuGet cache, and an application may be built without this package's targets. There, on a Linux
/// host whose libstdc++ lacks GLIBCXX_3.4.32, TorchSharp's own lookup finds only the unloadable
/// shipped file (and then copies all of libtorch, 500 MB, into the NuGet cache before failing).
/// </summary>
/// <remarks>
/// When this assembly is first used on such a host, a handler joins the
/// <see cref="AssemblyLoadContext.ResolvingUnmanagedDll"/> event of TorchSharp's load context (the
/// last resort of both TorchSharp's own <c>NativeLibrary.TryLoad</c> and its P/Invokes, which do not
/// consult a DllImport resolver): asked for LibTorchSharp after the usual lookup failed, it writes a
/// fixed copy of the shipped library once into a per-user cache folder, with symbolic links to the
/// libtorch libraries it needs beside it (its run path is $ORIGIN), and loads that. Nothing changes
/// where the shipped or built copy loads, or on other hosts. The handler must be in place before
/// TorchSharp loads its native library: code that calls TorchSharp directly before touching any
/// Mask2Former type should call
/// <c>RuntimeHelpers.RunModuleConstructor(typeof(Mask2FormerConfig).Module.ModuleHandle)</c> first.
/// </remarks>
internal static class TorchSharpNativeLoader
{
    private const string LibraryName = "LibTorchSharp";
    private const string FileName = "libLibTorchSharp.so";
    private const string LibTorchPackage = "libtorch-cpu-linux-x64";

    private static readonly Lock Gate = new();
    private static nint _handle;

    [ModuleInitializer]
    [SuppressMessage("Usage", "CA2255:The 'ModuleInitializer' attribute should not be used in libraries",
        Justification = "The resolver must exist before TorchSharp loads its native library, which the first use of any type here may do.")]
    internal static void Register()
    {
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64) return;
        if (GlibcxxVersionFix.HostProvidesVersion(out _) != false) return;
        var torchSharp = typeof(TorchSharp.torch).Assembly;
        (AssemblyLoadContext.GetLoadContext(torchSharp) ?? AssemblyLoadContext.Default).ResolvingUnmanagedDll += Resolve;
    }

    private static nint Resolve(Assembly assembly, string name)
    {
        if (name is not (LibraryName or FileName) || assembly != typeof(TorchSharp.torch).Assembly) return 0;
        lock (Gate)
        {
            if (_handle != 0) return _handle;
            try
            {
                _handle = LoadFixedCopy(assembly);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException or DllNotFoundException or BadImageFormatException)
            {
                // TorchSharp's own lookup runs next and reports what it finds.
                Trace.TraceWarning($"Mask2Former: could not prepare a loadable copy of {FileName}: {e.Message}");
            }
            return _handle;
        }
    }

    /// <summary>The handle of a loadable LibTorchSharp, or 0 when the default lookup should proceed.</summary>
    private static nint LoadFixedCopy(Assembly torchSharp)
    {
        if (Shipped(torchSharp) is not { } shipped) return 0;
        var bytes = File.ReadAllBytes(shipped);
        // Already fixed by a build step, or not needing it: it loads where it is.
        if (GlibcxxVersionFix.MarkWeak(bytes, GlibcxxVersionFix.VersionName) <= 0) return 0;
        if (LibTorchFolder(shipped, torchSharp) is not { } libtorch) return 0;

        var folder = CacheFolder(shipped, libtorch);
        Directory.CreateDirectory(folder);
        foreach (var library in Directory.EnumerateFiles(libtorch, "*.so*"))
        {
            var link = Path.Combine(folder, Path.GetFileName(library));
            if (Path.GetFileName(library) == FileName || File.Exists(link)) continue;
            try
            {
                File.CreateSymbolicLink(link, library);
            }
            catch (IOException) when (File.Exists(link))
            {
                // Another process made it first.
            }
        }
        var target = Path.Combine(folder, FileName);
        if (!File.Exists(target))
        {
            var temp = $"{target}.{Environment.ProcessId}.tmp";
            File.WriteAllBytes(temp, bytes);
            File.Move(temp, target, overwrite: true);
        }
        return NativeLibrary.Load(target);
    }

    /// <summary>The libLibTorchSharp.so TorchSharp would load: beside the application, or in TorchSharp's package.</summary>
    private static string? Shipped(Assembly torchSharp)
    {
        var assemblyFolder = Path.GetDirectoryName(torchSharp.Location) ?? "";
        string[] candidates =
        [
            Path.Combine(AppContext.BaseDirectory, FileName),
            Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", FileName),
            Path.Combine(assemblyFolder, FileName),
            // The package layout: torchsharp/<version>/lib/<tfm>/TorchSharp.dll.
            Path.Combine(assemblyFolder, "..", "..", "runtimes", "linux-x64", "native", FileName),
        ];
        return candidates.Select(Path.GetFullPath).FirstOrDefault(File.Exists);
    }

    /// <summary>The folder with libtorch_cpu.so: beside the shipped library, or the libtorch package TorchSharp was built for.</summary>
    private static string? LibTorchFolder(string shipped, Assembly torchSharp)
    {
        var beside = Path.GetDirectoryName(shipped)!;
        if (File.Exists(Path.Combine(beside, "libtorch_cpu.so"))) return beside;
        var version = LibTorchVersion(torchSharp);
        var roots = new List<string>();
        // TorchSharp.dll in a package folder: <root>/torchsharp/<version>/lib/<tfm>/.
        roots.Add(Path.GetFullPath(Path.Combine(Path.GetDirectoryName(torchSharp.Location) ?? "", "..", "..", "..", "..")));
        if (Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } packages) roots.Add(packages);
        roots.Add(Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages"));
        foreach (var root in roots.Distinct())
        {
            var package = Path.Combine(root, LibTorchPackage);
            if (!Directory.Exists(package)) continue;
            var versions = Directory.EnumerateDirectories(package).Select(Path.GetFileName).OfType<string>()
                .OrderByDescending(v => v == version).ThenByDescending(v => Version.TryParse(v, out var parsed) ? parsed : new Version());
            foreach (var v in versions)
            {
                var native = Path.Combine(package, v, "runtimes", "linux-x64", "native");
                if (File.Exists(Path.Combine(native, "libtorch_cpu.so"))) return native;
            }
        }
        return null;
    }

    /// <summary>The libtorch package version TorchSharp names in its own error messages ("2.10.0.0" → "2.10.0").</summary>
    private static string? LibTorchVersion(Assembly torchSharp)
    {
        var raw = torchSharp.GetType("TorchSharp.torch")?.GetField("libtorchPackageVersion", BindingFlags.NonPublic | BindingFlags.Static)?.GetRawConstantValue() as string;
        return raw is null || !Version.TryParse(raw, out var v) ? null : v.Revision > 0 ? v.ToString() : v.ToString(3);
    }

    /// <summary>One folder per shipped library and libtorch pair, under the user's cache folder.</summary>
    private static string CacheFolder(string shipped, string libtorch)
    {
        var cache = Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } xdg
            ? xdg
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        var info = new FileInfo(shipped);
        var key = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes($"{shipped}|{info.Length}|{info.LastWriteTimeUtc.Ticks}|{libtorch}")))[..16];
        return Path.Combine(cache, "Microsoft.ML.Mask2Former", "torchsharp-native", key.ToLowerInvariant());
    }
}
