using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Microsoft.ML.Mask2Former.Formats;

/// <summary>
/// The CRC-32 of PNG chunks (ISO 3309 / ITU-T V.42, reflected polynomial 0xEDB88320), computed
/// eight bytes at a time with eight derived tables ("slicing by 8"): every PNG byte read or
/// written passes through it, so the byte-at-a-time loop would be a visible share of decoding.
/// </summary>
internal static class PngCrc
{
    /// <summary>The register value before the first byte (and the final XOR).</summary>
    public const uint Initial = 0xFFFFFFFFu;

    private static readonly uint[] Table = BuildTable();

    private static uint[] BuildTable()
    {
        var t = new uint[8 * 256];
        for (uint n = 0; n < 256; n++)
        {
            var c = n;
            for (var k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            t[n] = c;
        }
        // Table k gives the contribution of a byte that still has k more zero bytes to pass through.
        for (var k = 1; k < 8; k++)
        {
            for (var n = 0; n < 256; n++)
            {
                var prev = t[(k - 1) * 256 + n];
                t[k * 256 + n] = t[prev & 0xFF] ^ (prev >> 8);
            }
        }
        return t;
    }

    /// <summary>Feeds <paramref name="data"/> into a running (not yet finalised) CRC register.</summary>
    public static uint Update(uint crc, ReadOnlySpan<byte> data)
    {
        ref var t = ref MemoryMarshal.GetArrayDataReference(Table);
        ref var p = ref MemoryMarshal.GetReference(data);
        nuint i = 0, n = (nuint)data.Length;
        for (; i + 8 <= n; i += 8)
        {
            var lo = BinaryPrimitives.ReadUInt32LittleEndian(MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref p, i), 4)) ^ crc;
            var hi = BinaryPrimitives.ReadUInt32LittleEndian(MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref p, i + 4), 4));
            crc = Unsafe.Add(ref t, 7 * 256 + (int)(lo & 0xFF))
                ^ Unsafe.Add(ref t, 6 * 256 + (int)((lo >> 8) & 0xFF))
                ^ Unsafe.Add(ref t, 5 * 256 + (int)((lo >> 16) & 0xFF))
                ^ Unsafe.Add(ref t, 4 * 256 + (int)(lo >> 24))
                ^ Unsafe.Add(ref t, 3 * 256 + (int)(hi & 0xFF))
                ^ Unsafe.Add(ref t, 2 * 256 + (int)((hi >> 8) & 0xFF))
                ^ Unsafe.Add(ref t, 1 * 256 + (int)((hi >> 16) & 0xFF))
                ^ Unsafe.Add(ref t, (int)(hi >> 24));
        }
        for (; i < n; i++) crc = Unsafe.Add(ref t, (int)((crc ^ Unsafe.Add(ref p, i)) & 0xFF)) ^ (crc >> 8);
        return crc;
    }

    /// <summary>The finished CRC of <paramref name="data"/> (register started at <see cref="Initial"/>, final XOR applied).</summary>
    public static uint Compute(ReadOnlySpan<byte> data) => Update(Initial, data) ^ Initial;
}
