using System.Collections.Immutable;
using System.Runtime.InteropServices;

namespace Microsoft.ML.Mask2Former.PostProcessing;

/// <summary>Small shared pieces: PyTorch's max/argmax tie and NaN rules, boxes, areas, packed masks.</summary>
internal static class PixelMath
{
    /// <summary>
    /// Whether <paramref name="candidate"/> (at a later index) replaces <paramref name="best"/> in
    /// PyTorch's max/argmax: the first NaN wins outright, otherwise the first of equal maxima.
    /// </summary>
    public static bool Replaces(float candidate, float best) =>
        !float.IsNaN(best) && (float.IsNaN(candidate) || candidate > best);

    /// <summary>Index of the maximum of <paramref name="values"/> by <see cref="Replaces"/>.</summary>
    public static int ArgMax(ReadOnlySpan<float> values)
    {
        var best = 0;
        for (var i = 1; i < values.Length; i++)
            if (Replaces(values[i], values[best])) best = i;
        return best;
    }

    /// <summary>Area and bounding box of every id 1 … <paramref name="maxId"/> in a map.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static (long[] Areas, PixelBox[] Boxes) Regions(ReadOnlySpan<int> map, int height, int width, int maxId)
    {
        var areas = new long[maxId + 1];
        var minX = new int[maxId + 1];
        var minY = new int[maxId + 1];
        var maxX = new int[maxId + 1];
        var maxY = new int[maxId + 1];
        minX.AsSpan().Fill(int.MaxValue);
        minY.AsSpan().Fill(int.MaxValue);
        maxX.AsSpan().Fill(-1);
        maxY.AsSpan().Fill(-1);
        for (var y = 0; y < height; y++)
        {
            var row = map.Slice(y * width, width);
            for (var x = 0; x < width; x++)
            {
                var id = row[x];
                if (id <= 0 || id > maxId) continue;
                areas[id]++;
                if (x < minX[id]) minX[id] = x;
                if (x > maxX[id]) maxX[id] = x;
                if (y < minY[id]) minY[id] = y;
                maxY[id] = y;
            }
        }
        var boxes = new PixelBox[maxId + 1];
        for (var id = 1; id <= maxId; id++) boxes[id] = PixelBox.FromBounds(minX[id], minY[id], maxX[id], maxY[id]);
        return (areas, boxes);
    }

    /// <summary>Packs <c>plane[p] &gt; 0</c> into LSB-first bits; returns the mask and its box.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static (InstanceMask Mask, PixelBox Box) PackPositive(ReadOnlySpan<float> plane, int height, int width)
    {
        var bits = new byte[(plane.Length + 7) / 8];
        long area = 0;
        int minX = int.MaxValue, minY = int.MaxValue, maxX = -1, maxY = -1;
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                var j = y * width + x;
                if (!(plane[j] > 0f)) continue;
                bits[j >> 3] |= (byte)(1 << (j & 7));
                area++;
                if (x < minX) minX = x;
                if (x > maxX) maxX = x;
                if (y < minY) minY = y;
                maxY = y;
            }
        }
        var mask = new InstanceMask(height, width, ImmutableCollectionsMarshal.AsImmutableArray(bits), area);
        return (mask, PixelBox.FromBounds(minX, minY, maxX, maxY));
    }

    public static ImmutableArray<T> Own<T>(T[] array) => ImmutableCollectionsMarshal.AsImmutableArray(array);
}
