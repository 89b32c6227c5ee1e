using System.Runtime.InteropServices;
using System.Text.Json;
using Microsoft.ML.Mask2Former.Formats;
#if !M2F_EVAL_ONLY
using Microsoft.ML.Mask2Former.Training.Checkpoints;
#endif
using Microsoft.ML.OnnxRuntime;

namespace Mask2Former.Cli;

/// <summary>Exit codes and the one place that turns exceptions into them.</summary>
internal static class CliExit
{
    public const int Ok = 0;
    public const int Failure = 1;
    public const int BadInput = 2;

    /// <summary>
    /// Runs a command body. An expected failure (<see cref="IsExpected"/>: bad or unreadable input,
    /// a model that does not load, an output that cannot be written, an impossible size, a
    /// checkpoint that does not match) prints one line naming what, where and why, and returns 2;
    /// anything else is a bug and returns 1 with the exception.
    /// </summary>
    public static int Guard(TextWriter stderr, Func<int> body)
    {
        try
        {
            return body();
        }
        catch (Exception e) when (IsExpected(Unwrap(e)))
        {
            stderr.WriteLine($"m2f: error: {Describe(Unwrap(e))}");
            return BadInput;
        }
        catch (Exception e)
        {
            stderr.WriteLine($"m2f: unexpected failure: {e}");
            return Failure;
        }
    }

    /// <summary>
    /// Whether <paramref name="e"/> is a failure the user can fix rather than a bug: the format,
    /// argument and file-system exceptions; ONNX Runtime refusing a model; a checkpoint that does not
    /// fit; memory exhausted by a size the user asked for; and the <see cref="InvalidOperationException"/>s
    /// this project's libraries throw on purpose about models and data (not those of .NET itself).
    /// </summary>
    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("Trimming", "IL2026",
        Justification = "TargetSite only separates this project's deliberate InvalidOperationExceptions from .NET's; where native compilation dropped the method's metadata it is null and the failure is reported as a bug (exit 1), which loses nothing.")]
    internal static bool IsExpected(Exception e) => e switch
    {
        DataFormatException or FormatException or JsonException or InvalidDataException => true,
        ArgumentException or NotSupportedException => true,
        IOException or UnauthorizedAccessException => true,
        OnnxRuntimeException => true,
#if !M2F_EVAL_ONLY
        CheckpointMismatchException => true,
#endif
        OutOfMemoryException or InsufficientMemoryException => true,
        ExternalException x when x.Message.Contains("can't allocate memory", StringComparison.Ordinal) => true,
        InvalidOperationException => e.TargetSite?.DeclaringType?.Namespace?.StartsWith("Microsoft.ML.Mask2Former", StringComparison.Ordinal) == true,
        _ => false,
    };

    /// <summary>One line: the message without line breaks or .NET's "(Parameter 'x')" tail, with a cause where the message lacks one.</summary>
    internal static string Describe(Exception e)
    {
        var message = e.Message;
        if (e is ArgumentException { ParamName: { } name }) message = message.Replace($" (Parameter '{name}')", "", StringComparison.Ordinal);
        message = e switch
        {
            UnauthorizedAccessException => $"permission denied: {message}",
            OutOfMemoryException or InsufficientMemoryException => $"not enough memory: {message} (a smaller size, batch or model needs less)",
            ExternalException => $"not enough memory: {message.Split('\n')[0]} (a smaller size, batch or model needs less)",
            _ => message,
        };
        return message.ReplaceLineEndings(" ").Trim();
    }

    /// <summary>The first failure inside an <see cref="AggregateException"/> (from parallel loops), else the exception itself.</summary>
    private static Exception Unwrap(Exception e) =>
        e is AggregateException aggregate && aggregate.Flatten().InnerExceptions is [var first, ..] ? first : e;
}
