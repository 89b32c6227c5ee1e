using System.CommandLine;
using System.Globalization;

namespace Mask2Former.Cli;

/// <summary>
/// Sane limits of the numbers users pass, checked before any work so that a typo (an extra zero,
/// a missing one) ends with a message naming the option instead of a hang, an exhausted machine
/// or an overflow deep inside a library.
/// </summary>
internal static class CliLimits
{
    /// <summary>The most threads an option may ask for: 4 per processor, at least 64 (beyond that threads only wait for each other).</summary>
    public static readonly int MaxThreads = Math.Max(64, 4 * Environment.ProcessorCount);

    /// <summary>The longest side of an input size (<c>--input-size</c>, <c>--fixed</c>, <c>--size</c>).</summary>
    public const int MaxImageSide = 8192;

    /// <summary>
    /// The most input pixels (4096²): Mask2Former's activations grow with the input (about 170 bytes a
    /// pixel for the small model in ONNX Runtime, 11 GB at 8000×8000), and the reference recipes stay
    /// at or below 1333 × 800 (COCO) and 2048 × 1024 (Cityscapes).
    /// </summary>
    public const long MaxImagePixels = 4096L * 4096;

    /// <summary>Checks the options every command shares (for now <c>--threads</c>), when given.</summary>
    /// <exception cref="ArgumentException">A value is out of range; the message names the option.</exception>
    public static void Check(ParseResult parse)
    {
        foreach (var option in parse.CommandResult.Command.Options)
        {
            if (option.Name != "--threads" || parse.GetResult(option) is not { Implicit: false } result) continue;
            foreach (var token in result.Tokens)
            {
                if (int.TryParse(token.Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n)) Threads(n);
            }
        }
    }

    /// <summary>Returns <paramref name="n"/> when it is a sane thread count.</summary>
    /// <exception cref="ArgumentException">Not in 1 … <see cref="MaxThreads"/>.</exception>
    public static int Threads(int n, string option = "--threads") =>
        n >= 1 && n <= MaxThreads ? n : throw new ArgumentException($"{option} must be in 1..{MaxThreads} on this machine ({Environment.ProcessorCount} processors), got {n}");

    /// <summary>Checks a square image size (<c>train --size</c>) as <see cref="ImageSize"/> does.</summary>
    /// <exception cref="ArgumentException">Too large; the message names the option.</exception>
    public static int SquareSize(int size, string option)
    {
        if (size > MaxImageSide || (long)size * size > MaxImagePixels)
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"{option} {size} is too large: at most {(int)Math.Sqrt(MaxImagePixels)} ({MaxImagePixels:N0} pixels a crop)"));
        return size;
    }

    /// <summary>Checks an image size (height × width) against <see cref="MaxImageSide"/> and <see cref="MaxImagePixels"/>.</summary>
    /// <exception cref="ArgumentException">Too large; the message names the option.</exception>
    public static (int Height, int Width) ImageSize(int height, int width, string option)
    {
        if (height > MaxImageSide || width > MaxImageSide || (long)height * width > MaxImagePixels)
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"{option} {height}x{width} is too large: at most {MaxImageSide} pixels a side and {MaxImagePixels:N0} pixels ({(int)Math.Sqrt(MaxImagePixels)}x{(int)Math.Sqrt(MaxImagePixels)}) in all"));
        return (height, width);
    }
}
