using System.Diagnostics;
using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;

namespace Microsoft.ML.Mask2Former.Scoring;

/// <summary>
/// Where ONNX Runtime runs a model when <see cref="SegmentationOptions.GpuDeviceId"/> asks for a
/// GPU. Whether CUDA can start is found out before any session exists, by adding the CUDA provider
/// to a throw-away <see cref="SessionOptions"/>: the CPU package has no CUDA entry point at all, and
/// the GPU package (Microsoft.ML.OnnxRuntime.Gpu.Linux 1.32) fails there when CUDA 13 or cuDNN 9 is
/// missing. Deciding up front lets the fallback say why (ML.NET's own <c>fallbackToCpu</c> is
/// silent and misses the CPU package's <see cref="EntryPointNotFoundException"/>) and lets a refusal
/// name the missing libraries (ONNX Runtime's exception only says "Failed to load shared library").
/// </summary>
internal static class GpuExecution
{
    /// <summary>The CUDA 13 / cuDNN 9 libraries ONNX Runtime 1.32's CUDA provider is linked against.</summary>
    private static string[] CudaLibraries => OperatingSystem.IsWindows()
        ? ["cudart64_13.dll", "cublas64_13.dll", "cublasLt64_13.dll", "cudnn64_9.dll"]
        : ["libcudart.so.13", "libcublas.so.13", "libcublasLt.so.13", "libcudnn.so.9"];

    /// <summary>
    /// The device to hand to ONNX Runtime: the requested GPU when CUDA starts, <see langword="null"/>
    /// (the CPU) when no GPU was asked for or when it cannot start and
    /// <see cref="SegmentationOptions.FallbackToCpu"/> allows the CPU; then
    /// <paramref name="fallbackReason"/> says why, and the same text goes to <see cref="Trace"/> as a warning.
    /// </summary>
    /// <exception cref="NotSupportedException">CUDA cannot start and falling back is not allowed.</exception>
    internal static int? Choose(SegmentationOptions options, string source, out string? fallbackReason)
    {
        fallbackReason = null;
        if (options.GpuDeviceId is not { } device) return null;
        if (device < 0) throw new ArgumentOutOfRangeException(nameof(options), device, "GpuDeviceId must be a device index (0 or more), or null for the CPU.");
        if (CudaProblem(device) is not { } problem) return device;
        if (!options.FallbackToCpu)
            throw new NotSupportedException($"GPU {device} was asked for to run {source}, but {problem} Set FallbackToCpu to score on the CPU instead.");
        fallbackReason = FallBack(device, source, problem);
        return null;
    }

    /// <summary>The warning for a model that runs on the CPU instead of <paramref name="device"/>, also written to <see cref="Trace"/>.</summary>
    internal static string FallBack(int device, string source, string problem)
    {
        var reason = $"GPU {device} is not used for {source}; scoring on the CPU: {problem}";
        Trace.TraceWarning($"Mask2Former: {reason}");
        return reason;
    }

    /// <summary>Why CUDA cannot start on <paramref name="device"/>, or <see langword="null"/> when it can.</summary>
    internal static string? CudaProblem(int device)
    {
        try
        {
            using var probe = SessionOptions.MakeSessionOptionWithCudaProvider(device);
            return null;
        }
        catch (EntryPointNotFoundException)
        {
            return "the ONNX Runtime in use is the CPU-only build (package Microsoft.ML.OnnxRuntime), which has no CUDA provider: "
                + "reference Microsoft.ML.OnnxRuntime.Gpu.Linux 1.32.0 in its place (see the README, \"GPU scoring\").";
        }
        catch (Exception e) when (e is OnnxRuntimeException or DllNotFoundException)
        {
            var missing = CudaLibraries.Where(name => !CanLoad(name)).ToList();
            var found = missing.Count == 0
                ? "the libraries themselves load, so look at the driver and the device index"
                : $"not found: {string.Join(", ", missing)}";
            return $"ONNX Runtime's CUDA provider did not start ({e.Message}): it needs CUDA 13 and cuDNN 9 on the library path ({found}).";
        }
    }

    private static bool CanLoad(string library)
    {
        if (!NativeLibrary.TryLoad(library, out var handle)) return false;
        NativeLibrary.Free(handle);
        return true;
    }
}
