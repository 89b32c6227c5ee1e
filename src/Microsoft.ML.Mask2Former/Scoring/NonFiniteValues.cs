using System.Numerics;
using System.Runtime.InteropServices;

namespace Microsoft.ML.Mask2Former.Scoring;

/// <summary>Counts NaN and infinite values (a model with damaged weights gives them; post-processing would silently drop them).</summary>
internal static class NonFiniteValues
{
    /// <summary>The number of NaN or infinite values in <paramref name="values"/>.</summary>
    public static long Count(ReadOnlySpan<float> values)
    {
        // x − x is 0 for every finite x and NaN otherwise: a vector compare finds the blocks to count.
        var vectors = MemoryMarshal.Cast<float, Vector<float>>(values);
        long count = 0;
        foreach (var v in vectors)
        {
            if (Vector.EqualsAll(v - v, Vector<float>.Zero)) continue;
            for (var i = 0; i < Vector<float>.Count; i++) if (!float.IsFinite(v[i])) count++;
        }
        foreach (var x in values[(vectors.Length * Vector<float>.Count)..]) if (!float.IsFinite(x)) count++;
        return count;
    }
}
