using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;
using System.IO.Hashing;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Microsoft.ML.Mask2Former.Formats;

/// <summary>
/// A strict, streaming PNG decoder that hands out one row at a time: as panoptic segment ids
/// (<see cref="ReadIdRow"/>) or as integer labels (<see cref="ReadLabelRow"/>).
/// </summary>
/// <remarks>
/// <para>
/// The file is read once through a small buffer; the concatenated <c>IDAT</c> data flows into
/// <see cref="ZLibStream"/> and is inflated a few dozen rows at a time, so memory stays at a few
/// rows whatever the image size (Adam7-interlaced images are the exception: their rows are
/// only complete once every pass is decoded, so they are decoded whole before the first row
/// is served).
/// </para>
/// <para>
/// Everything is checked: the signature, every chunk's CRC-32, the <c>IHDR</c> fields, chunk
/// order (<c>PLTE</c> before <c>IDAT</c>, consecutive <c>IDAT</c>s, <c>IEND</c> at the end),
/// the zlib stream (including its Adler-32), the amount of image data and every row's filter
/// type. Ancillary chunks are skipped (their CRC still checked); an unknown critical chunk is an
/// error. Every failure is a <see cref="DataFormatException"/> that names <see cref="Path"/>.
/// The end of the file (the rest of the image data and <c>IEND</c>) is checked when the last
/// row is read.
/// </para>
/// </remarks>
public sealed class PngRowReader : IDisposable
{
    private const int IoBufferSize = 1 << 16;
    private const int BatchBytes = 1 << 16;

    private readonly Stream _stream;
    private readonly bool _leaveOpen;

    private byte[]? _io;
    private int _ioPos, _ioEnd;
    private bool _eof;

    private uint _chunkType;
    private int _chunkLeft;
    // CRC-32 of the open chunk's type and data.
    private readonly Crc32 _crc = new();
    private bool _idatEnded, _chunkOpen;
    // Set when zlib asked for input after the last IDAT byte: its stream had not ended there.
    private bool _zlibWantedMore;

    private byte[]? _palette;
    private ZLibStream? _zlib;
    private IdatStream? _idat;

    private readonly int _bitsPerPixel, _filterBpp, _rowBytes;

    // Non-interlaced: rows of (filter byte + data) back to back; slot 0 holds the row before the batch.
    private byte[]? _rows;
    private int _batchRows, _batchNext;
    private readonly int _batchCapacity;

    // Interlaced: the whole image, packed rows without filter bytes.
    private byte[]? _image;

    private bool _finished, _disposed;
    private DataFormatException? _fault;

    private PngRowReader(Stream stream, string path, bool leaveOpen)
    {
        _stream = stream;
        _leaveOpen = leaveOpen;
        Path = path;
        _io = ArrayPool<byte>.Shared.Rent(IoBufferSize);
        try
        {
            ReadHeader(out var width, out var height, out var bitDepth, out var colorType, out var interlaced);
            Width = width;
            Height = height;
            BitDepth = bitDepth;
            ColorType = colorType;
            Interlaced = interlaced;
            _bitsPerPixel = PngFormat.Channels(colorType) * bitDepth;
            _filterBpp = Math.Max(1, _bitsPerPixel / 8);
            var rowBytes = PngFormat.RowBytes(width, _bitsPerPixel);
            if (rowBytes > int.MaxValue / 4) throw Error($"rows of {width} pixels ({rowBytes} bytes) are too wide");
            _rowBytes = (int)rowBytes;
            ReadUpToImageData();
            _idat = new IdatStream(this);
            _zlib = new ZLibStream(_idat, CompressionMode.Decompress, leaveOpen: true);
            if (!interlaced)
            {
                var stride = _rowBytes + 1;
                _batchCapacity = Math.Clamp(BatchBytes / stride, 1, height);
                // Slot 0 (the previous row) plus the batch, plus slack so vector loads may run past a row.
                _rows = ArrayPool<byte>.Shared.Rent(checked(stride * (_batchCapacity + 1) + 32));
                Array.Clear(_rows, 0, stride);
            }
        }
        catch
        {
            Release();
            throw;
        }
    }

    /// <summary>Opens a PNG file and reads its header chunks (up to the first <c>IDAT</c>).</summary>
    /// <param name="path">The file; also the name used in error messages.</param>
    /// <exception cref="DataFormatException">The file is not a valid PNG.</exception>
    public static PngRowReader Open(string path)
    {
        InputFile.RequireRegular(path, "PNG file");
        // No FileStream buffer: the reader buffers itself, so bytes are copied once.
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0, FileOptions.SequentialScan);
        return new PngRowReader(stream, path, leaveOpen: false);
    }

    /// <summary>Reads a PNG from a stream, from its current position.</summary>
    /// <param name="stream">The stream; read sequentially, never sought.</param>
    /// <param name="displayName">The name used in error messages (a file name, a URL, "ground truth of image 7").</param>
    /// <param name="leaveOpen">Whether <see cref="Dispose"/> leaves <paramref name="stream"/> open.</param>
    /// <exception cref="DataFormatException">The data is not a valid PNG.</exception>
    public static PngRowReader Open(Stream stream, string displayName, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(displayName);
        if (!stream.CanRead) throw new ArgumentException("the stream is not readable", nameof(stream));
        return new PngRowReader(stream, displayName, leaveOpen);
    }

    /// <summary>The file path or display name given to <c>Open</c>; every error message names it.</summary>
    public string Path { get; }

    /// <summary>Image width in pixels.</summary>
    public int Width { get; }

    /// <summary>Image height in pixels (the number of rows).</summary>
    public int Height { get; }

    /// <summary>Bits per sample (1, 2, 4, 8 or 16), as in <c>IHDR</c>.</summary>
    public int BitDepth { get; }

    /// <summary>The colour type, as in <c>IHDR</c>.</summary>
    public PngColorType ColorType { get; }

    /// <summary>Whether the image is Adam7-interlaced.</summary>
    public bool Interlaced { get; }

    /// <summary>How many rows have been read so far.</summary>
    public int RowsRead { get; private set; }

    /// <summary>
    /// Reads the next row as panoptic segment ids, <c>R + 256·G + 65536·B</c> (the COCO panoptic
    /// encoding). Only 8-bit RGB and RGBA images are accepted (alpha is ignored).
    /// </summary>
    /// <param name="ids">Receives <see cref="Width"/> ids; may be longer.</param>
    /// <exception cref="ArgumentException"><paramref name="ids"/> is shorter than <see cref="Width"/>.</exception>
    /// <exception cref="DataFormatException">The image is not 8-bit RGB / RGBA, or its data is corrupt.</exception>
    /// <exception cref="InvalidOperationException">All <see cref="Height"/> rows have been read.</exception>
    public void ReadIdRow(Span<uint> ids)
    {
        if (ids.Length < Width) throw new ArgumentException($"the span holds {ids.Length} values but the image is {Width} pixels wide", nameof(ids));
        if (BitDepth != 8 || ColorType is not (PngColorType.Rgb or PngColorType.Rgba))
            throw Error($"expected an 8-bit RGB or RGBA panoptic PNG, found {PngFormat.Describe(ColorType, BitDepth)}");
        var row = NextRow();
        if (ColorType == PngColorType.Rgb) RgbToIds(row, ids[..Width]);
        else RgbaToIds(row, ids[..Width]);
    }

    /// <summary>
    /// Reads the next row as integer labels: the grey value of a grayscale image (bit depth 1, 2,
    /// 4, 8 or 16) or the palette index of a palette image.
    /// </summary>
    /// <param name="labels">Receives <see cref="Width"/> labels; may be longer.</param>
    /// <exception cref="ArgumentException"><paramref name="labels"/> is shorter than <see cref="Width"/>.</exception>
    /// <exception cref="DataFormatException">The image has several channels (RGB, RGBA, grey + alpha), or its data is corrupt.</exception>
    /// <exception cref="InvalidOperationException">All <see cref="Height"/> rows have been read.</exception>
    public void ReadLabelRow(Span<int> labels)
    {
        if (labels.Length < Width) throw new ArgumentException($"the span holds {labels.Length} values but the image is {Width} pixels wide", nameof(labels));
        if (ColorType is not (PngColorType.Grayscale or PngColorType.Palette))
            throw Error($"expected a single-channel label PNG (grayscale or palette), found {PngFormat.Describe(ColorType, BitDepth)}");
        var row = NextRow();
        SamplesToLabels(row, labels[..Width], BitDepth);
    }

    /// <summary>Bytes of one packed row (without filter byte): <c>ceil(Width · channels · BitDepth / 8)</c>.</summary>
    internal int PackedRowBytes => _rowBytes;

    /// <summary>Reads the next row as the PNG packs it (samples big-endian, sub-byte pixels from the high bits), for any colour type.</summary>
    internal void ReadPackedRow(Span<byte> row)
    {
        if (row.Length < _rowBytes) throw new ArgumentException($"the span holds {row.Length} bytes but a row has {_rowBytes}", nameof(row));
        NextRow().CopyTo(row);
    }

    /// <summary>Closes the file (unless opened with <c>leaveOpen</c>) and returns the buffers.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        Release();
    }

    private void Release()
    {
        _zlib?.Dispose();
        _zlib = null;
        if (!_leaveOpen) _stream.Dispose();
        if (_io is not null) ArrayPool<byte>.Shared.Return(_io);
        if (_rows is not null) ArrayPool<byte>.Shared.Return(_rows);
        _io = null;
        _rows = null;
        _image = null;
    }

    private DataFormatException Error(string message, Exception? inner = null) => new(message, Path, inner: inner);

    // ---------------------------------------------------------------- rows

    private ReadOnlySpan<byte> NextRow()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        // After a format error the stream position is unknown: every later read repeats the error.
        if (_fault is not null) throw _fault.WithLocation();
        if (RowsRead >= Height) throw new InvalidOperationException($"all {Height} rows of '{Path}' have been read");
        try
        {
            return DecodeNextRow();
        }
        catch (DataFormatException e)
        {
            _fault = e;
            throw;
        }
    }

    private ReadOnlySpan<byte> DecodeNextRow()
    {
        ReadOnlySpan<byte> row;
        if (Interlaced)
        {
            if (_image is null) DecodeInterlaced();
            row = _image.AsSpan(RowsRead * _rowBytes, _rowBytes);
            RowsRead++;
        }
        else
        {
            if (_batchNext == _batchRows) FillBatch();
            var stride = _rowBytes + 1;
            var offset = (_batchNext + 1) * stride;
            var rows = _rows!;
            var filter = rows[offset];
            var cur = rows.AsSpan(offset + 1, _rowBytes);
            if (!PngFilters.Unfilter(filter, cur, rows.AsSpan(offset + 1 - stride, _rowBytes), _filterBpp))
                throw Error($"row {RowsRead} has filter type {filter}; PNG filter types are 0 to 4");
            _batchNext++;
            RowsRead++;
            if (RowsRead == Height) FinishImageData();
            row = cur;
        }
        return row;
    }

    private void FillBatch()
    {
        var rows = _rows!;
        var stride = _rowBytes + 1;
        // The last row of the previous batch becomes the "row above" of this one.
        if (_batchRows > 0) Buffer.BlockCopy(rows, _batchRows * stride, rows, 0, stride);
        var count = Math.Min(_batchCapacity, Height - RowsRead);
        Inflate(rows.AsSpan(stride, count * stride), RowsRead, stride);
        _batchRows = count;
        _batchNext = 0;
    }

    /// <summary>Fills <paramref name="dest"/> with inflated image data; <paramref name="firstRow"/> and <paramref name="stride"/> only word the error.</summary>
    private void Inflate(Span<byte> dest, int firstRow, int stride)
    {
        var zlib = _zlib!;
        var done = 0;
        try
        {
            while (done < dest.Length)
            {
                var n = zlib.Read(dest[done..]);
                if (n == 0) break;
                done += n;
            }
        }
        catch (InvalidDataException e) when (!_idatEnded)
        {
            throw CorruptData("the compressed image data is corrupt", e);
        }
        catch (InvalidDataException e)
        {
            throw TooLittle(firstRow + done / stride, e);
        }
        if (done < dest.Length) throw TooLittle(firstRow + done / stride, null);
    }

    private DataFormatException TooLittle(int row, Exception? inner)
    {
        var where = Interlaced ? $"row {row} of an interlace pass" : $"row {row}";
        return Error($"too little image data: the compressed data ends in {where} of a {Width}×{Height} image", inner);
    }

    private void DecodeInterlaced()
    {
        var total = (long)_rowBytes * Height;
        if (total > Array.MaxLength) throw Error($"the interlaced image ({Width}×{Height}) is too large to decode");
        var image = new byte[total];
        var passRowMax = (int)PngFormat.RowBytes(Width, _bitsPerPixel) + 1;
        var cur = new byte[passRowMax];
        var prev = new byte[passRowMax];
        var adam7 = PngFormat.Adam7;
        for (var pass = 0; pass < 7; pass++)
        {
            var (pw, ph) = PngFormat.PassSize(pass, Width, Height);
            if (pw == 0 || ph == 0) continue;
            int x0 = adam7[pass * 4], y0 = adam7[pass * 4 + 1], dx = adam7[pass * 4 + 2], dy = adam7[pass * 4 + 3];
            var passRowBytes = (int)PngFormat.RowBytes(pw, _bitsPerPixel);
            Array.Clear(prev);
            for (var r = 0; r < ph; r++)
            {
                Inflate(cur.AsSpan(0, passRowBytes + 1), r, passRowBytes + 1);
                var data = cur.AsSpan(1, passRowBytes);
                if (!PngFilters.Unfilter(cur[0], data, prev.AsSpan(1, passRowBytes), _filterBpp))
                    throw Error($"row {r} of interlace pass {pass + 1} has filter type {cur[0]}; PNG filter types are 0 to 4");
                Scatter(data, pw, image.AsSpan((y0 + r * dy) * _rowBytes, _rowBytes), x0, dx);
                (cur, prev) = (prev, cur);
            }
        }
        FinishImageData();
        _image = image;
    }

    /// <summary>Places the pixels of one pass row at columns x0, x0 + dx, … of an image row.</summary>
    private void Scatter(ReadOnlySpan<byte> passRow, int count, Span<byte> imageRow, int x0, int dx)
    {
        if (_bitsPerPixel >= 8)
        {
            var bpp = _bitsPerPixel / 8;
            for (var i = 0; i < count; i++)
                passRow.Slice(i * bpp, bpp).CopyTo(imageRow.Slice((x0 + i * dx) * bpp, bpp));
            return;
        }
        var depth = _bitsPerPixel;
        var mask = (1 << depth) - 1;
        for (var i = 0; i < count; i++)
        {
            var sbit = i * depth;
            var v = (passRow[sbit >> 3] >> (8 - depth - (sbit & 7))) & mask;
            var dbit = (x0 + i * dx) * depth;
            imageRow[dbit >> 3] |= (byte)(v << (8 - depth - (dbit & 7)));
        }
    }

    /// <summary>After the last row: no more image data, the rest of the IDATs, then chunks up to IEND.</summary>
    private void FinishImageData()
    {
        if (_finished) return;
        _finished = true;
        Span<byte> probe = stackalloc byte[64];
        int extra;
        try
        {
            extra = _zlib!.Read(probe);
        }
        catch (InvalidDataException e) when (_idatEnded)
        {
            throw Error("the compressed image data is truncated: the zlib stream does not end after the last row", e);
        }
        catch (InvalidDataException e)
        {
            throw CorruptData("the compressed image data is corrupt after the last row", e);
        }
        if (extra > 0) throw Error($"more image data than {Width}×{Height} pixels need: the compressed data continues after the last row");
        // zlib reads its Adler-32 checksum (and verifies it) only when it reaches the end of its
        // stream; .NET reports a stream cut short as a plain end of data, so ask whether it got there.
        if (_zlibWantedMore)
            throw Error("the compressed image data is truncated: the zlib stream does not end within the IDAT chunks (its end or Adler-32 checksum is missing)");
        // Bytes after the end of the zlib stream inside IDAT are tolerated (as libpng does), but still CRC-checked.
        while (ReadIdat(probe) > 0) { }
        while (true)
        {
            switch (_chunkType)
            {
                case PngFormat.Iend:
                    if (_chunkLeft != 0) throw Error($"the IEND chunk has {_chunkLeft} data bytes; it must be empty");
                    EndChunk();
                    return;
                case PngFormat.Idat:
                    throw Error("IDAT chunks are not consecutive (another chunk sits between them)");
                case PngFormat.Ihdr:
                case PngFormat.Plte:
                    throw Error($"{PngFormat.TypeName(_chunkType)} chunk after the image data");
                default:
                    SkipAncillary();
                    break;
            }
            BeginChunk(atEndOfImage: true);
        }
    }

    // ---------------------------------------------------------------- chunks

    private void ReadHeader(out int width, out int height, out int bitDepth, out PngColorType colorType, out bool interlaced)
    {
        if (!Ensure(8) || !_io.AsSpan(_ioPos, 8).SequenceEqual(PngFormat.Signature))
            throw Error(_ioEnd - _ioPos == 0 ? "the file is empty, not a PNG" : "not a PNG file (bad signature)");
        _ioPos += 8;
        BeginChunk(atEndOfImage: false);
        if (_chunkType != PngFormat.Ihdr) throw Error($"the first chunk is {PngFormat.TypeName(_chunkType)}; a PNG must start with IHDR");
        if (_chunkLeft != 13) throw Error($"the IHDR chunk has {_chunkLeft} bytes; it must have 13");
        Span<byte> h = stackalloc byte[13];
        ReadChunkData(h);
        EndChunk();
        var w = BinaryPrimitives.ReadUInt32BigEndian(h);
        var ht = BinaryPrimitives.ReadUInt32BigEndian(h[4..]);
        if (w == 0 || ht == 0 || w > int.MaxValue || ht > int.MaxValue) throw Error($"invalid image size {w}×{ht} in IHDR");
        if ((long)w * ht > PngFormat.MaxPixels) throw Error($"image size {w}×{ht} exceeds the limit of {PngFormat.MaxPixels} pixels");
        bitDepth = h[8];
        colorType = (PngColorType)h[9];
        if (!PngFormat.IsLegal(colorType, bitDepth))
            throw Error(h[9] is 0 or 2 or 3 or 4 or 6
                ? $"bit depth {bitDepth} is not allowed for colour type {h[9]} ({colorType})"
                : $"unknown colour type {h[9]} in IHDR");
        if (h[10] != 0) throw Error($"unknown compression method {h[10]} in IHDR (only 0, deflate, exists)");
        if (h[11] != 0) throw Error($"unknown filter method {h[11]} in IHDR (only 0 exists)");
        if (h[12] > 1) throw Error($"unknown interlace method {h[12]} in IHDR (0 none, 1 Adam7)");
        width = (int)w;
        height = (int)ht;
        interlaced = h[12] == 1;
    }

    /// <summary>Reads the chunks between IHDR and the first IDAT (keeping PLTE) and leaves the reader inside that IDAT.</summary>
    private void ReadUpToImageData()
    {
        while (true)
        {
            BeginChunk(atEndOfImage: false);
            switch (_chunkType)
            {
                case PngFormat.Idat:
                    if (ColorType == PngColorType.Palette && _palette is null) throw Error("a palette image without a PLTE chunk");
                    return;
                case PngFormat.Plte:
                    ReadPalette();
                    break;
                case PngFormat.Ihdr:
                    throw Error("a second IHDR chunk");
                case PngFormat.Iend:
                    throw Error("IEND before any IDAT: the file holds no image data");
                default:
                    SkipAncillary();
                    break;
            }
        }
    }

    private void ReadPalette()
    {
        if (_palette is not null) throw Error("a second PLTE chunk");
        if (ColorType is PngColorType.Grayscale or PngColorType.GrayscaleAlpha)
            throw Error($"a PLTE chunk in a {PngFormat.Describe(ColorType, BitDepth)} image");
        var entries = _chunkLeft / 3;
        if (_chunkLeft % 3 != 0 || entries < 1 || entries > 256)
            throw Error($"the PLTE chunk has {_chunkLeft} bytes; it must hold 1 to 256 RGB entries");
        if (ColorType == PngColorType.Palette && entries > 1 << BitDepth)
            throw Error($"the PLTE chunk has {entries} entries, more than a {BitDepth}-bit index can address");
        var palette = new byte[_chunkLeft];
        ReadChunkData(palette);
        EndChunk();
        _palette = palette;
    }

    private void SkipAncillary()
    {
        // Bit 5 of the first type letter (lower case) marks an ancillary chunk a decoder may ignore.
        if ((_chunkType & 0x20000000u) == 0)
            throw Error($"unknown critical chunk {PngFormat.TypeName(_chunkType)}");
        while (_chunkLeft > 0)
        {
            if (_ioPos == _ioEnd && !Fill()) throw Truncated();
            var n = Math.Min(_chunkLeft, _ioEnd - _ioPos);
            _crc.Append(_io.AsSpan(_ioPos, n));
            _ioPos += n;
            _chunkLeft -= n;
        }
        EndChunk();
    }

    private void BeginChunk(bool atEndOfImage)
    {
        if (!Ensure(8))
            throw Error(atEndOfImage ? "the file ends without an IEND chunk" : "the file is truncated (it ends where a chunk header should be)");
        var header = _io.AsSpan(_ioPos, 8);
        var length = BinaryPrimitives.ReadUInt32BigEndian(header);
        var type = BinaryPrimitives.ReadUInt32BigEndian(header[4..]);
        for (var i = 4; i < 8; i++)
        {
            if (!char.IsAsciiLetter((char)header[i]))
                throw Error($"invalid chunk type bytes {Convert.ToHexString(header[4..])} (the file is corrupt or truncated)");
        }
        if (length > int.MaxValue) throw Error($"chunk {PngFormat.TypeName(type)} claims {length} bytes, more than a PNG chunk may hold");
        _crc.Reset();
        _crc.Append(header[4..]);
        _ioPos += 8;
        _chunkType = type;
        _chunkLeft = (int)length;
        _chunkOpen = true;
    }

    private void ReadChunkData(Span<byte> dest)
    {
        while (dest.Length > 0)
        {
            if (_ioPos == _ioEnd && !Fill()) throw Truncated();
            var n = Math.Min(dest.Length, _ioEnd - _ioPos);
            var src = _io.AsSpan(_ioPos, n);
            _crc.Append(src);
            src.CopyTo(dest);
            dest = dest[n..];
            _ioPos += n;
            _chunkLeft -= n;
        }
    }

    private void EndChunk()
    {
        _chunkOpen = false;
        if (!Ensure(4)) throw Truncated();
        var stored = BinaryPrimitives.ReadUInt32BigEndian(_io.AsSpan(_ioPos, 4));
        _ioPos += 4;
        var actual = _crc.GetCurrentHashAsUInt32();
        if (stored != actual)
            throw Error($"CRC mismatch in chunk {PngFormat.TypeName(_chunkType)}: stored {stored:X8}, computed {actual:X8} (the file is corrupt)");
    }

    private DataFormatException Truncated() =>
        Error($"the file is truncated (it ends inside the {PngFormat.TypeName(_chunkType)} chunk)");

    /// <summary>
    /// Serves IDAT payload bytes to zlib, crossing chunk boundaries; 0 once a non-IDAT chunk
    /// follows. A chunk's CRC is checked as soon as its last byte is served, before zlib sees it.
    /// </summary>
    private int ReadIdat(Span<byte> dest)
    {
        if (dest.IsEmpty) return 0;
        while (!_idatEnded)
        {
            if (_chunkLeft > 0)
            {
                if (_ioPos == _ioEnd && !Fill()) throw Truncated();
                var n = Math.Min(Math.Min(dest.Length, _chunkLeft), _ioEnd - _ioPos);
                var src = _io.AsSpan(_ioPos, n);
                _crc.Append(src);
                src.CopyTo(dest);
                _ioPos += n;
                _chunkLeft -= n;
                if (_chunkLeft == 0) EndChunk();
                return n;
            }
            if (_chunkOpen) EndChunk(); // an empty IDAT
            BeginChunk(atEndOfImage: true);
            if (_chunkType != PngFormat.Idat) _idatEnded = true;
        }
        return 0;
    }

    /// <summary>
    /// zlib refused the data. If the IDAT chunk it was reading fails its CRC, that is the better
    /// diagnosis (the file is damaged, not oddly compressed), so the rest of the chunk is checked.
    /// </summary>
    private DataFormatException CorruptData(string message, InvalidDataException zlibError)
    {
        try
        {
            if (!_idatEnded && _chunkOpen && _chunkType == PngFormat.Idat)
            {
                while (_chunkLeft > 0)
                {
                    if (_ioPos == _ioEnd && !Fill()) break;
                    var n = Math.Min(_chunkLeft, _ioEnd - _ioPos);
                    _crc.Append(_io.AsSpan(_ioPos, n));
                    _ioPos += n;
                    _chunkLeft -= n;
                }
                if (_chunkLeft == 0) EndChunk();
            }
        }
        catch (DataFormatException crcError)
        {
            return crcError;
        }
        return Error($"{message} ({zlibError.Message})", zlibError);
    }

    /// <summary>Makes at least <paramref name="count"/> bytes available at <see cref="_ioPos"/>; false at end of stream.</summary>
    private bool Ensure(int count)
    {
        while (_ioEnd - _ioPos < count)
        {
            if (!Fill()) return false;
        }
        return true;
    }

    private bool Fill()
    {
        if (_eof) return false;
        var io = _io!;
        if (_ioPos > 0)
        {
            Buffer.BlockCopy(io, _ioPos, io, 0, _ioEnd - _ioPos);
            _ioEnd -= _ioPos;
            _ioPos = 0;
        }
        var n = _stream.Read(io, _ioEnd, io.Length - _ioEnd);
        if (n <= 0)
        {
            _eof = true;
            return false;
        }
        _ioEnd += n;
        return true;
    }

    private sealed class IdatStream(PngRowReader owner) : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var n = owner.ReadIdat(buffer);
            if (n == 0 && !buffer.IsEmpty) owner._zlibWantedMore = true;
            return n;
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    // ---------------------------------------------------------------- pixel conversion

    private static void RgbToIds(ReadOnlySpan<byte> rgb, Span<uint> ids)
    {
        var n = ids.Length;
        ref var s = ref MemoryMarshal.GetReference(rgb);
        ref var d = ref MemoryMarshal.GetReference(ids);
        var x = 0;
        if (Avx2.IsSupported)
        {
            // Eight pixels: bytes 0..15 in the low lane and 12..27 in the high lane, so each lane
            // holds four whole pixels at the same offsets and one in-lane shuffle serves both.
            var shuffle = Vector256.Create((byte)0, 1, 2, 0x80, 3, 4, 5, 0x80, 6, 7, 8, 0x80, 9, 10, 11, 0x80,
                0, 1, 2, 0x80, 3, 4, 5, 0x80, 6, 7, 8, 0x80, 9, 10, 11, 0x80);
            for (; 3 * x + 28 <= rgb.Length && x + 8 <= n; x += 8)
            {
                var lo = Vector128.LoadUnsafe(ref s, (nuint)(3 * x));
                var hi = Vector128.LoadUnsafe(ref s, (nuint)(3 * x + 12));
                Avx2.Shuffle(Vector256.Create(lo, hi), shuffle).AsUInt32().StoreUnsafe(ref d, (nuint)x);
            }
        }
        if (Ssse3.IsSupported)
        {
            // Four pixels (12 bytes) per shuffle; the zero lanes (index 0x80) become the top byte.
            var shuffle = Vector128.Create((byte)0, 1, 2, 0x80, 3, 4, 5, 0x80, 6, 7, 8, 0x80, 9, 10, 11, 0x80);
            for (; 3 * x + 16 <= rgb.Length && x + 4 <= n; x += 4)
            {
                var v = Vector128.LoadUnsafe(ref s, (nuint)(3 * x));
                Ssse3.Shuffle(v, shuffle).AsUInt32().StoreUnsafe(ref d, (nuint)x);
            }
        }
        for (; x < n; x++)
        {
            ref var p = ref Unsafe.Add(ref s, 3 * x);
            Unsafe.Add(ref d, x) = p | (uint)Unsafe.Add(ref p, 1) << 8 | (uint)Unsafe.Add(ref p, 2) << 16;
        }
    }

    private static void RgbaToIds(ReadOnlySpan<byte> rgba, Span<uint> ids)
    {
        var n = ids.Length;
        var words = MemoryMarshal.Cast<byte, uint>(rgba[..(4 * n)]);
        if (!BitConverter.IsLittleEndian)
        {
            for (var x = 0; x < n; x++) ids[x] = rgba[4 * x] | (uint)rgba[4 * x + 1] << 8 | (uint)rgba[4 * x + 2] << 16;
            return;
        }
        ref var s = ref MemoryMarshal.GetReference(words);
        ref var d = ref MemoryMarshal.GetReference(ids);
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var mask = Vector256.Create(0x00FFFFFFu);
            for (; i + 8 <= n; i += 8) (Vector256.LoadUnsafe(ref s, (nuint)i) & mask).StoreUnsafe(ref d, (nuint)i);
        }
        for (; i < n; i++) Unsafe.Add(ref d, i) = Unsafe.Add(ref s, i) & 0x00FFFFFFu;
    }

    private static void ByteToInt(ReadOnlySpan<byte> bytes, Span<int> ints)
    {
        var n = bytes.Length;
        ref var s = ref MemoryMarshal.GetReference(bytes);
        ref var d = ref MemoryMarshal.GetReference(ints);
        var x = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; x + 16 <= n; x += 16)
            {
                var (lo, hi) = Vector256.Widen(Vector256.WidenLower(Vector128.LoadUnsafe(ref s, (nuint)x).ToVector256()));
                lo.AsInt32().StoreUnsafe(ref d, (nuint)x);
                hi.AsInt32().StoreUnsafe(ref d, (nuint)(x + 8));
            }
        }
        for (; x < n; x++) Unsafe.Add(ref d, x) = Unsafe.Add(ref s, x);
    }

    private static void SamplesToLabels(ReadOnlySpan<byte> row, Span<int> labels, int depth)
    {
        var n = labels.Length;
        switch (depth)
        {
            case 8:
                ByteToInt(row[..n], labels);
                break;
            case 16:
                for (var x = 0; x < n; x++) labels[x] = row[2 * x] << 8 | row[2 * x + 1];
                break;
            default:
                var mask = (1 << depth) - 1;
                for (var x = 0; x < n; x++)
                {
                    var bit = x * depth;
                    labels[x] = (row[bit >> 3] >> (8 - depth - (bit & 7))) & mask;
                }
                break;
        }
    }
}
