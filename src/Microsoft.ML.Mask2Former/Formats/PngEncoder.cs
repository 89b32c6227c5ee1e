using System.Buffers.Binary;
using System.IO.Compression;
using System.IO.Hashing;

namespace Microsoft.ML.Mask2Former.Formats;

/// <summary>
/// Writes one PNG: signature, <c>IHDR</c>, optional <c>PLTE</c>, the rows filtered and deflated
/// into <c>IDAT</c> chunks, <c>IEND</c>. Rows are given one at a time (pass by pass for Adam7).
/// </summary>
internal sealed class PngEncoder
{
    /// <summary>
    /// The filter of every row unless a test asks for another. Measured on COCO panoptic maps
    /// and on synthetic ones, Up at the Optimal deflate level gives smaller files than choosing
    /// None / Sub / Up per row (and than Pillow's adaptive filtering), and Up is the cheapest
    /// filter to reverse: one vector add per row.
    /// </summary>
    public const int DefaultFilter = PngFilters.Up;

    private readonly Stream _output;
    private readonly int _bitsPerPixel, _filterBpp, _filter;
    private readonly IdatWriter _idat;
    private readonly ZLibStream _zlib;
    private readonly byte[] _prev, _out;
    private int _rowBytes;

    public PngEncoder(Stream output, int width, int height, PngColorType colorType, int bitDepth, ReadOnlySpan<byte> paletteRgb,
        bool interlaced, int filter, CompressionLevel level)
    {
        _output = output;
        _filter = filter;
        _bitsPerPixel = PngFormat.Channels(colorType) * bitDepth;
        _filterBpp = Math.Max(1, _bitsPerPixel / 8);
        var maxRow = (int)PngFormat.RowBytes(width, _bitsPerPixel);
        _prev = new byte[maxRow];
        _out = new byte[maxRow + 1];

        output.Write(PngFormat.Signature);
        Span<byte> ihdr = stackalloc byte[13];
        BinaryPrimitives.WriteUInt32BigEndian(ihdr, (uint)width);
        BinaryPrimitives.WriteUInt32BigEndian(ihdr[4..], (uint)height);
        ihdr[8] = (byte)bitDepth;
        ihdr[9] = (byte)colorType;
        ihdr[10] = 0;
        ihdr[11] = 0;
        ihdr[12] = interlaced ? (byte)1 : (byte)0;
        WriteChunk(output, PngFormat.Ihdr, ihdr);
        if (!paletteRgb.IsEmpty) WriteChunk(output, PngFormat.Plte, paletteRgb);
        _idat = new IdatWriter(output);
        _zlib = new ZLibStream(_idat, level, leaveOpen: true);
    }

    /// <summary>Starts an image (or an Adam7 pass) whose rows are <paramref name="width"/> pixels wide.</summary>
    public void BeginPass(int width)
    {
        _rowBytes = (int)PngFormat.RowBytes(width, _bitsPerPixel);
        Array.Clear(_prev);
    }

    /// <summary>Filters and compresses one raw (packed, unfiltered) row of the current pass.</summary>
    public void WriteRow(ReadOnlySpan<byte> raw)
    {
        var n = _rowBytes;
        if (raw.Length != n) throw new ArgumentException($"row has {raw.Length} bytes, expected {n}", nameof(raw));
        var prev = _prev.AsSpan(0, n);
        var dest = _out.AsSpan(1, n);
        var filter = (byte)_filter;
        PngFilters.Apply(filter, raw, prev, _filterBpp, dest);
        _out[0] = filter;
        _zlib.Write(_out, 0, n + 1);
        raw.CopyTo(prev);
    }

    /// <summary>Ends the compressed stream and writes the last IDAT and IEND.</summary>
    public void Finish()
    {
        _zlib.Dispose();
        _idat.Complete();
        WriteChunk(_output, PngFormat.Iend, []);
    }

    private static void WriteChunk(Stream output, uint type, ReadOnlySpan<byte> data)
    {
        Span<byte> head = stackalloc byte[8];
        BinaryPrimitives.WriteUInt32BigEndian(head, (uint)data.Length);
        BinaryPrimitives.WriteUInt32BigEndian(head[4..], type);
        var crc = new Crc32();
        crc.Append(head[4..]);
        crc.Append(data);
        output.Write(head);
        output.Write(data);
        Span<byte> tail = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(tail, crc.GetCurrentHashAsUInt32());
        output.Write(tail);
    }

    /// <summary>Cuts the zlib output into IDAT chunks of up to 64 KiB.</summary>
    private sealed class IdatWriter(Stream output) : Stream
    {
        private readonly byte[] _buffer = new byte[1 << 16];
        private int _count;

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> data)
        {
            while (!data.IsEmpty)
            {
                var n = Math.Min(data.Length, _buffer.Length - _count);
                data[..n].CopyTo(_buffer.AsSpan(_count));
                _count += n;
                data = data[n..];
                if (_count == _buffer.Length) Emit();
            }
        }

        public void Complete()
        {
            if (_count > 0) Emit();
        }

        private void Emit()
        {
            WriteChunk(output, PngFormat.Idat, _buffer.AsSpan(0, _count));
            _count = 0;
        }
    }
}
