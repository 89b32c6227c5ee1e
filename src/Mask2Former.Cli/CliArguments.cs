using System.Globalization;

namespace Mask2Former.Cli;

/// <summary>Argument forms shared by several commands.</summary>
internal static class CliArguments
{
    /// <summary>Parses <c>HEIGHTxWIDTH</c> (e.g. <c>384x384</c>) with positive numbers within <see cref="CliLimits"/>; a usage error names <paramref name="option"/>.</summary>
    public static (int Height, int Width) ParseSize(string text, string option)
    {
        var parts = text.Split('x', 'X');
        if (parts.Length != 2 || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var h) ||
            !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var w) || h < 1 || w < 1)
            throw new ArgumentException($"{option} must be HEIGHTxWIDTH with positive numbers (e.g. 384x384), got '{text}'");
        return CliLimits.ImageSize(h, w, option);
    }
}
