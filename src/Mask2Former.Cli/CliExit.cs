using System.Text.Json;
using Microsoft.ML.Mask2Former.Formats;

namespace Mask2Former.Cli;

/// <summary>Exit codes and the one place that turns exceptions into them.</summary>
internal static class CliExit
{
    public const int Ok = 0;
    public const int Failure = 1;
    public const int BadInput = 2;

    /// <summary>
    /// Runs a command body. Bad input (format errors, missing files, malformed JSON, invalid
    /// arguments) prints one line naming what and where and returns 2; anything else is a bug
    /// and returns 1 with the exception.
    /// </summary>
    public static int Guard(TextWriter stderr, Func<int> body)
    {
        try
        {
            return body();
        }
        catch (Exception e) when (e is DataFormatException or FileNotFoundException or DirectoryNotFoundException
                                  or JsonException or ArgumentException or InvalidDataException or FormatException or NotSupportedException)
        {
            stderr.WriteLine($"m2f: error: {OneLine(e.Message)}");
            return BadInput;
        }
        catch (Exception e)
        {
            stderr.WriteLine($"m2f: unexpected failure: {e}");
            return Failure;
        }
    }

    private static string OneLine(string s) => s.ReplaceLineEndings(" ");
}
