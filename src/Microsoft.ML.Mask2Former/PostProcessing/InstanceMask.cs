using System.Collections.Immutable;

namespace Microsoft.ML.Mask2Former.PostProcessing;

/// <summary>
/// A binary mask stored one bit per pixel: pixel <c>j = y·Width + x</c> is bit <c>j % 8</c>
/// (least significant first) of byte <c>j / 8</c>, numpy's <c>packbits(bitorder="little")</c> layout.
/// </summary>
public sealed class InstanceMask
{
    internal InstanceMask(int height, int width, ImmutableArray<byte> bits, long area)
    {
        Height = height;
        Width = width;
        Bits = bits;
        Area = area;
    }

    /// <summary>Rows.</summary>
    public int Height { get; }

    /// <summary>Columns.</summary>
    public int Width { get; }

    /// <summary>The packed bits, <c>ceil(Height·Width / 8)</c> bytes.</summary>
    public ImmutableArray<byte> Bits { get; }

    /// <summary>Pixels set.</summary>
    public long Area { get; }

    /// <summary>Whether pixel (<paramref name="x"/>, <paramref name="y"/>) is set.</summary>
    public bool this[int y, int x]
    {
        get
        {
            if ((uint)y >= (uint)Height) throw new ArgumentOutOfRangeException(nameof(y), y, $"must be below {Height}");
            if ((uint)x >= (uint)Width) throw new ArgumentOutOfRangeException(nameof(x), x, $"must be below {Width}");
            var j = (long)y * Width + x;
            return (Bits[(int)(j >> 3)] >> (int)(j & 7) & 1) != 0;
        }
    }

    /// <summary>The mask as one byte per pixel (0 or 1), row-major.</summary>
    public byte[] ToBytes()
    {
        var result = new byte[(long)Height * Width];
        for (var j = 0; j < result.Length; j++) result[j] = (byte)(Bits[j >> 3] >> (j & 7) & 1);
        return result;
    }
}
