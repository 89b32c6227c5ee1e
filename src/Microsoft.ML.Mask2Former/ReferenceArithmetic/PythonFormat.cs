using System.Text;

namespace Microsoft.ML.Mask2Former.ReferenceArithmetic;

/// <summary>
/// Fixed-point formatting that rounds exactly like Python's <c>format(x, ".Nf")</c>: the exact
/// binary value is rounded half-to-even. The reference tools print their tables this way, and
/// our tables must be identical to theirs, ties included.
/// </summary>
internal static class PythonFormat
{
    /// <summary>Formats <paramref name="value"/> with <paramref name="decimals"/> digits after the point, padded left to <paramref name="width"/>.</summary>
    public static string Fixed(double value, int decimals, int width = 0)
    {
        string text;
        if (double.IsNaN(value)) text = "nan";
        else if (double.IsInfinity(value)) text = value > 0 ? "inf" : "-inf";
        else text = RoundHalfEven(value, decimals);
        return text.PadLeft(width);
    }

    private static string RoundHalfEven(double value, int decimals)
    {
        // "F" with many digits prints the exact binary value (IEEE-correct since .NET Core 3.0).
        var exact = Math.Abs(value).ToString("F" + (decimals + 60).ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        var point = exact.IndexOf('.');
        var digits = new StringBuilder(exact.Length);
        digits.Append(exact, 0, point).Append(exact, point + 1, decimals);
        var rest = exact.AsSpan(point + 1 + decimals);
        var roundUp = rest[0] > '5' || (rest[0] == '5' && (rest[1..].IndexOfAnyExcept('0') >= 0 || (digits[^1] - '0') % 2 == 1));
        if (roundUp)
        {
            var i = digits.Length - 1;
            while (i >= 0 && digits[i] == '9') digits[i--] = '0';
            if (i >= 0) digits[i]++;
            else digits.Insert(0, '1');
        }
        var intLength = digits.Length - decimals;
        var result = decimals > 0 ? digits.ToString(0, intLength) + "." + digits.ToString(intLength, decimals) : digits.ToString();
        return double.IsNegative(value) ? "-" + result : result;
    }
}
