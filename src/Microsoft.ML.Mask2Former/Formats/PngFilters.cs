using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Microsoft.ML.Mask2Former.Formats;

/// <summary>
/// The five PNG row filters (specification section 9), both ways. Reversing them is on the
/// decoder's hot path, so Up is vectorised and Sub / Paeth keep the left pixel in registers for
/// 3- and 4-byte pixels (the RGB / RGBA segment maps this library reads most).
/// </summary>
internal static class PngFilters
{
    public const byte None = 0, Sub = 1, Up = 2, Average = 3, Paeth = 4;

    /// <summary>
    /// Reverses filter <paramref name="filter"/> on <paramref name="cur"/> in place, given the
    /// already reconstructed previous row (all zeros for the first row of an image or pass).
    /// Returns <see langword="false"/> for a filter type outside 0..4.
    /// </summary>
    public static bool Unfilter(byte filter, Span<byte> cur, ReadOnlySpan<byte> prev, int bpp)
    {
        if (prev.Length < cur.Length) throw new ArgumentException("previous row is shorter than the current row", nameof(prev));
        switch (filter)
        {
            case None:
                return true;
            case Sub:
                UndoSub(cur, bpp);
                return true;
            case Up:
                UndoUp(cur, prev);
                return true;
            case Average:
                UndoAverage(cur, prev, bpp);
                return true;
            case Paeth:
                if (bpp == 3) UndoPaeth3(cur, prev);
                else if (bpp == 4) UndoPaeth4(cur, prev);
                else UndoPaethAny(cur, prev, bpp);
                return true;
            default:
                return false;
        }
    }

    private static void UndoSub(Span<byte> cur, int bpp)
    {
        var n = cur.Length;
        ref var c = ref MemoryMarshal.GetReference(cur);
        var i = bpp;
        if (bpp == 3 && Ssse3.IsSupported) i = UndoSub3(ref c, n);
        else if (bpp == 4 && Ssse3.IsSupported) i = UndoSub4(ref c, n);
        for (; i < n; i++) Unsafe.Add(ref c, i) += Unsafe.Add(ref c, i - bpp);
    }

    /// <summary>
    /// Sub for 3-byte pixels, five pixels per step: a prefix sum inside the vector (shifts by 3, 6
    /// and 12 bytes) plus the last reconstructed pixel spread over the lanes. Byte 15 of each
    /// 16-byte load belongs to the next step, so that step's data is loaded before the store
    /// overwrites it. Returns the first byte left for the scalar loop.
    /// </summary>
    private static int UndoSub3(ref byte c, int n)
    {
        if (n < 31) return 3;
        var spread = Vector128.Create((byte)12, 13, 14, 12, 13, 14, 12, 13, 14, 12, 13, 14, 12, 13, 14, 12);
        var carry = Vector128<byte>.Zero;
        var v = Vector128.LoadUnsafe(ref c);
        var i = 0;
        for (; i + 31 <= n; i += 15)
        {
            var next = Vector128.LoadUnsafe(ref c, (nuint)(i + 15));
            v += Sse2.ShiftLeftLogical128BitLane(v, 3);
            v += Sse2.ShiftLeftLogical128BitLane(v, 6);
            v += Sse2.ShiftLeftLogical128BitLane(v, 12);
            v += carry;
            v.StoreUnsafe(ref c, (nuint)i);
            carry = Ssse3.Shuffle(v, spread);
            v = next;
        }
        // The last store also wrote byte i, already reconstructed.
        return i + 1;
    }

    /// <summary>Sub for 4-byte pixels, four pixels per step (prefix by 4 and 8 bytes plus the spread last pixel).</summary>
    private static int UndoSub4(ref byte c, int n)
    {
        var spread = Vector128.Create((byte)12, 13, 14, 15, 12, 13, 14, 15, 12, 13, 14, 15, 12, 13, 14, 15);
        var carry = Vector128<byte>.Zero;
        var i = 0;
        for (; i + 16 <= n; i += 16)
        {
            var v = Vector128.LoadUnsafe(ref c, (nuint)i);
            v += Sse2.ShiftLeftLogical128BitLane(v, 4);
            v += Sse2.ShiftLeftLogical128BitLane(v, 8);
            v += carry;
            v.StoreUnsafe(ref c, (nuint)i);
            carry = Ssse3.Shuffle(v, spread);
        }
        return Math.Max(i, 4);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint AddBytes(uint a, uint b) => ((a & 0x7F7F7F7Fu) + (b & 0x7F7F7F7Fu)) ^ ((a ^ b) & 0x80808080u);

    private static void UndoUp(Span<byte> cur, ReadOnlySpan<byte> prev)
    {
        var n = cur.Length;
        ref var c = ref MemoryMarshal.GetReference(cur);
        ref var p = ref MemoryMarshal.GetReference(prev);
        nuint i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i + 32 <= (nuint)n; i += 32)
                (Vector256.LoadUnsafe(ref c, i) + Vector256.LoadUnsafe(ref p, i)).StoreUnsafe(ref c, i);
        }
        if (Vector128.IsHardwareAccelerated)
        {
            for (; i + 16 <= (nuint)n; i += 16)
                (Vector128.LoadUnsafe(ref c, i) + Vector128.LoadUnsafe(ref p, i)).StoreUnsafe(ref c, i);
        }
        for (; i < (nuint)n; i++) Unsafe.Add(ref c, i) += Unsafe.Add(ref p, i);
    }

    private static void UndoAverage(Span<byte> cur, ReadOnlySpan<byte> prev, int bpp)
    {
        var n = cur.Length;
        var head = Math.Min(bpp, n);
        for (var i = 0; i < head; i++) cur[i] += (byte)(prev[i] >> 1);
        for (var i = bpp; i < n; i++) cur[i] += (byte)((cur[i - bpp] + prev[i]) >> 1);
    }

    /// <summary>The Paeth predictor with the specification's tie order (a, then b, then c).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Predict(int a, int b, int c)
    {
        var pa = Math.Abs(b - c);
        var pb = Math.Abs(a - c);
        var pc = Math.Abs(a + b - 2 * c);
        if (pb < pa) { pa = pb; a = b; }
        return pc < pa ? c : a;
    }

    // Segment maps are piecewise constant, so most pixels meet one of three whole-pixel cases
    // whose Paeth prediction needs no per-channel arithmetic (and whose branches predict well):
    // above == above-left gives pa = 0, so the left pixel; left == above-left gives pb = 0 < pa,
    // so the pixel above; left == above gives pa = pb <= pc, so the left pixel. The branches also
    // cut the dependency through the distance comparisons that limits a branch-free loop.
    private static void UndoPaeth3(Span<byte> cur, ReadOnlySpan<byte> prev)
    {
        var n = cur.Length;
        if (n < 3) { UndoPaethAny(cur, prev, 3); return; }
        ref var x = ref MemoryMarshal.GetReference(cur);
        ref var p = ref MemoryMarshal.GetReference(prev);
        // First pixel: a = c = 0, so the predictor is b.
        var a = AddBytes(Read3(ref x), Read3(ref p)) & 0xFFFFFFu;
        Write3(ref x, a);
        var i = 3;
        while (i + 3 <= n)
        {
            var b = Read3(ref Unsafe.Add(ref p, i));
            var c = Read3(ref Unsafe.Add(ref p, i - 3));
            if (b == c)
            {
                // Where the row above repeats its left neighbour, pa = 0 and the predictor is the
                // left pixel: the stretch is a Sub run, long ones decoded with the vector prefix sum.
                var end = SameAsLeftUntil(ref p, i + 3, n);
                if (end - i >= 48 && Ssse3.IsSupported)
                {
                    ref var runStart = ref Unsafe.Add(ref x, i - 3);
                    var length = end - i + 3;
                    for (var k = UndoSub3(ref runStart, length); k < length; k++) Unsafe.Add(ref runStart, k) += Unsafe.Add(ref runStart, k - 3);
                    a = Read3(ref Unsafe.Add(ref x, end - 3));
                    i = end;
                    continue;
                }
                for (; i < end; i += 3)
                {
                    ref var xr = ref Unsafe.Add(ref x, i);
                    a = AddBytes(Read3(ref xr), a) & 0xFFFFFFu;
                    Write3(ref xr, a);
                }
                continue;
            }
            uint predicted;
            if (a == b) predicted = a;
            else if (a == c) predicted = b;
            else predicted = PredictBytes(a, b, c);
            ref var xi = ref Unsafe.Add(ref x, i);
            a = AddBytes(Read3(ref xi), predicted) & 0xFFFFFFu;
            Write3(ref xi, a);
            i += 3;
        }
    }

    /// <summary>
    /// The first pixel offset at or after <paramref name="i"/> (a multiple of 3) whose 3 bytes in
    /// <paramref name="p"/> differ from the pixel before it, or <paramref name="n"/>.
    /// </summary>
    private static int SameAsLeftUntil(ref byte p, int i, int n)
    {
        if (Vector128.IsHardwareAccelerated)
        {
            for (; i + 16 <= n; i += 15)
            {
                var diff = ~Vector128.Equals(Vector128.LoadUnsafe(ref p, (nuint)i), Vector128.LoadUnsafe(ref p, (nuint)(i - 3)));
                // Fifteen bytes (five whole pixels) per step.
                var bits = diff.ExtractMostSignificantBits() & 0x7FFFu;
                if (bits != 0) return i + BitOperations.TrailingZeroCount(bits) / 3 * 3;
            }
        }
        for (; i + 3 <= n; i += 3)
        {
            if (Unsafe.Add(ref p, i) != Unsafe.Add(ref p, i - 3) || Unsafe.Add(ref p, i + 1) != Unsafe.Add(ref p, i - 2)
                || Unsafe.Add(ref p, i + 2) != Unsafe.Add(ref p, i - 1))
                return i;
        }
        return n;
    }

    private static void UndoPaeth4(Span<byte> cur, ReadOnlySpan<byte> prev)
    {
        var n = cur.Length;
        if (n < 4) { UndoPaethAny(cur, prev, 4); return; }
        ref var x = ref MemoryMarshal.GetReference(cur);
        ref var p = ref MemoryMarshal.GetReference(prev);
        var a = AddBytes(Unsafe.ReadUnaligned<uint>(ref x), Unsafe.ReadUnaligned<uint>(ref p));
        Unsafe.WriteUnaligned(ref x, a);
        var c = Unsafe.ReadUnaligned<uint>(ref p);
        for (var i = 4; i + 4 <= n; i += 4)
        {
            ref var xi = ref Unsafe.Add(ref x, i);
            var b = Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref p, i));
            uint predicted;
            if (b == c || a == b) predicted = a;
            else if (a == c) predicted = b;
            else predicted = PredictBytes(a, b, c);
            a = AddBytes(Unsafe.ReadUnaligned<uint>(ref xi), predicted);
            Unsafe.WriteUnaligned(ref xi, a);
            c = b;
        }
    }

    /// <summary>The Paeth predictor of each of the four byte lanes of packed pixels.</summary>
    private static uint PredictBytes(uint a, uint b, uint c) =>
        (uint)Predict((int)(a & 0xFF), (int)(b & 0xFF), (int)(c & 0xFF))
        | (uint)Predict((int)((a >> 8) & 0xFF), (int)((b >> 8) & 0xFF), (int)((c >> 8) & 0xFF)) << 8
        | (uint)Predict((int)((a >> 16) & 0xFF), (int)((b >> 16) & 0xFF), (int)((c >> 16) & 0xFF)) << 16
        | (uint)Predict((int)(a >> 24), (int)(b >> 24), (int)(c >> 24)) << 24;

    /// <summary>Three bytes as the low bytes of a little-endian word (byte order independent of the machine).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Read3(ref byte p) => p | (uint)Unsafe.Add(ref p, 1) << 8 | (uint)Unsafe.Add(ref p, 2) << 16;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Write3(ref byte p, uint v)
    {
        p = (byte)v;
        Unsafe.Add(ref p, 1) = (byte)(v >> 8);
        Unsafe.Add(ref p, 2) = (byte)(v >> 16);
    }

    private static void UndoPaethAny(Span<byte> cur, ReadOnlySpan<byte> prev, int bpp)
    {
        var n = cur.Length;
        var head = Math.Min(bpp, n);
        for (var i = 0; i < head; i++) cur[i] += prev[i];
        for (var i = bpp; i < n; i++) cur[i] += (byte)Predict(cur[i - bpp], prev[i], prev[i - bpp]);
    }

    /// <summary>Applies filter <paramref name="filter"/> to <paramref name="cur"/> (raw) into <paramref name="dest"/>, given the raw previous row.</summary>
    public static void Apply(byte filter, ReadOnlySpan<byte> cur, ReadOnlySpan<byte> prev, int bpp, Span<byte> dest)
    {
        var n = cur.Length;
        if (prev.Length < n || dest.Length < n) throw new ArgumentException("row buffers are shorter than the row");
        switch (filter)
        {
            case None:
                cur.CopyTo(dest);
                break;
            case Sub:
                ApplySub(cur, bpp, dest);
                break;
            case Up:
                Subtract(cur, prev, dest);
                break;
            case Average:
                for (var i = 0; i < n; i++) dest[i] = (byte)(cur[i] - (((i >= bpp ? cur[i - bpp] : 0) + prev[i]) >> 1));
                break;
            case Paeth:
                for (var i = 0; i < n; i++)
                    dest[i] = (byte)(cur[i] - (i >= bpp ? Predict(cur[i - bpp], prev[i], prev[i - bpp]) : prev[i]));
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(filter), filter, "PNG filter types are 0..4");
        }
    }

    private static void ApplySub(ReadOnlySpan<byte> cur, int bpp, Span<byte> dest)
    {
        var n = cur.Length;
        var head = Math.Min(bpp, n);
        cur[..head].CopyTo(dest);
        if (n > bpp) Subtract(cur[bpp..], cur[..(n - bpp)], dest[bpp..]);
    }

    /// <summary>dest = a − b bytewise (mod 256).</summary>
    private static void Subtract(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b, Span<byte> dest)
    {
        var n = a.Length;
        ref var pa = ref MemoryMarshal.GetReference(a);
        ref var pb = ref MemoryMarshal.GetReference(b);
        ref var pd = ref MemoryMarshal.GetReference(dest);
        nuint i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i + 32 <= (nuint)n; i += 32)
                (Vector256.LoadUnsafe(ref pa, i) - Vector256.LoadUnsafe(ref pb, i)).StoreUnsafe(ref pd, i);
        }
        if (Vector128.IsHardwareAccelerated)
        {
            for (; i + 16 <= (nuint)n; i += 16)
                (Vector128.LoadUnsafe(ref pa, i) - Vector128.LoadUnsafe(ref pb, i)).StoreUnsafe(ref pd, i);
        }
        for (; i < (nuint)n; i++) Unsafe.Add(ref pd, i) = (byte)(Unsafe.Add(ref pa, i) - Unsafe.Add(ref pb, i));
    }
}
