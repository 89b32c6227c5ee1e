using Microsoft.ML.Data;

namespace Microsoft.ML.Mask2Former.Data;

/// <summary>
/// A COCO panoptic data set as an <see cref="IDataView"/>: one row per annotation, in JSON order,
/// with the columns named in <see cref="PanopticColumnNames"/>. Lazy: a segment-map PNG is decoded
/// only when a cursor reads the <see cref="PanopticColumnNames.SegmentMap"/> column of its row.
/// </summary>
public sealed class CocoPanopticDataView : IDataView
{
    private readonly string _pngFolder;
    private readonly string? _imageFolder;
    private readonly Dictionary<string, CocoImage> _images;

    /// <summary>Creates the view over a loaded data set.</summary>
    /// <param name="dataset">The COCO panoptic JSON, loaded.</param>
    /// <param name="pngFolder">The folder of the segment-map PNGs.</param>
    /// <param name="imageFolder">The folder of the photos (for <see cref="PanopticColumnNames.ImagePath"/>); <see langword="null"/> leaves that column empty.</param>
    public CocoPanopticDataView(CocoPanopticDataset dataset, string pngFolder, string? imageFolder = null)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentException.ThrowIfNullOrEmpty(pngFolder);
        if (!Directory.Exists(pngFolder)) throw new DirectoryNotFoundException($"segment-map PNG folder not found: '{pngFolder}'");
        if (imageFolder is not null && !Directory.Exists(imageFolder)) throw new DirectoryNotFoundException($"image folder not found: '{imageFolder}'");
        Dataset = dataset;
        _pngFolder = pngFolder;
        _imageFolder = imageFolder;
        _images = dataset.Images.ToDictionary(i => i.Id, StringComparer.Ordinal);

        var b = new DataViewSchema.Builder();
        b.AddColumn(PanopticColumnNames.ImageId, TextDataViewType.Instance);
        b.AddColumn(PanopticColumnNames.ImagePath, TextDataViewType.Instance);
        b.AddColumn(PanopticColumnNames.Width, NumberDataViewType.Int32);
        b.AddColumn(PanopticColumnNames.Height, NumberDataViewType.Int32);
        b.AddColumn(PanopticColumnNames.SegmentMapPath, TextDataViewType.Instance);
        b.AddColumn(PanopticColumnNames.SegmentMap, new VectorDataViewType(NumberDataViewType.UInt32));
        b.AddColumn(PanopticColumnNames.SegmentIds, new VectorDataViewType(NumberDataViewType.UInt32));
        b.AddColumn(PanopticColumnNames.CategoryIds, new VectorDataViewType(NumberDataViewType.Int32));
        b.AddColumn(PanopticColumnNames.IsCrowd, new VectorDataViewType(BooleanDataViewType.Instance));
        b.AddColumn(PanopticColumnNames.Areas, new VectorDataViewType(NumberDataViewType.Int64));
        Schema = b.ToSchema();
    }

    /// <summary>The underlying data set (categories included: the evaluator needs them).</summary>
    public CocoPanopticDataset Dataset { get; }

    /// <summary>The data set's categories, in JSON order.</summary>
    public IReadOnlyList<CocoPanopticCategory> Categories => Dataset.Categories;

    /// <summary>The folder of segment-map PNGs.</summary>
    public string PngFolder => _pngFolder;

    /// <summary>The folder of the photos, or <see langword="null"/> when the view was made without one.</summary>
    public string? ImageFolder => _imageFolder;

    /// <inheritdoc/>
    public bool CanShuffle => false;

    /// <inheritdoc/>
    public DataViewSchema Schema { get; }

    /// <inheritdoc/>
    public long? GetRowCount() => Dataset.Annotations.Count;

    /// <inheritdoc/>
    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
    {
        var active = new bool[Schema.Count];
        foreach (var c in columnsNeeded)
        {
            if (c.Index < 0 || c.Index >= active.Length || Schema[c.Index].Name != c.Name)
                throw new ArgumentException($"column '{c.Name}' does not belong to this data view's schema", nameof(columnsNeeded));
            active[c.Index] = true;
        }
        return new Cursor(this, active);
    }

    /// <inheritdoc/>
    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        [GetRowCursor(columnsNeeded, rand)];

    private sealed class Cursor : DataViewRowCursor
    {
        private readonly CocoPanopticDataView _parent;
        private readonly bool[] _active;
        private long _position = -1;
        private int _mapRow = -1;
        private uint[] _map = [];
        private int _mapLength;
        private int _width, _height;

        public Cursor(CocoPanopticDataView parent, bool[] active)
        {
            _parent = parent;
            _active = active;
        }

        public override DataViewSchema Schema => _parent.Schema;
        public override long Position => _position;
        public override long Batch => 0;

        private CocoPanopticAnnotation Current =>
            _position >= 0 && _position < _parent.Dataset.Annotations.Count
                ? _parent.Dataset.Annotations[(int)_position]
                : throw new InvalidOperationException("the cursor is not on a row: call MoveNext first");

        public override bool MoveNext()
        {
            if (_position >= _parent.Dataset.Annotations.Count) return false;
            _position++;
            return _position < _parent.Dataset.Annotations.Count;
        }

        public override bool IsColumnActive(DataViewSchema.Column column) => _active[column.Index];

        public override ValueGetter<DataViewRowId> GetIdGetter() =>
            (ref DataViewRowId id) => id = new DataViewRowId((ulong)_position, 0);

        private string PngPath => Path.Combine(_parent._pngFolder, Current.FileName);

        private void EnsureMap()
        {
            if (_mapRow == _position) return;
            var a = Current;
            var path = PngPath;
            if (!File.Exists(path)) throw new DataFormatException("segment-map PNG not found", path, a.ImageId);
            using var png = PngRowReader.Open(path);
            var length = checked(png.Width * png.Height);
            if (_map.Length < length) _map = new uint[length];
            for (var y = 0; y < png.Height; y++) png.ReadIdRow(_map.AsSpan(y * png.Width, png.Width));
            _mapLength = length;
            _width = png.Width;
            _height = png.Height;
            _mapRow = (int)_position;
        }

        private (int Width, int Height) Size()
        {
            if (_parent._images.TryGetValue(Current.ImageId, out var im)) return (im.Width, im.Height);
            if (_mapRow != _position)
            {
                // No 'images' entry: the PNG header tells the size without decoding the pixels.
                using var png = PngRowReader.Open(PngPath);
                return (png.Width, png.Height);
            }
            return (_width, _height);
        }

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            if (!IsColumnActive(column)) throw new InvalidOperationException($"column '{column.Name}' is not active in this cursor");
            Delegate getter = column.Name switch
            {
                PanopticColumnNames.ImageId => (ValueGetter<ReadOnlyMemory<char>>)((ref ReadOnlyMemory<char> v) => v = Current.ImageId.AsMemory()),
                PanopticColumnNames.ImagePath => (ValueGetter<ReadOnlyMemory<char>>)((ref ReadOnlyMemory<char> v) =>
                    v = _parent._imageFolder is { } folder && _parent._images.TryGetValue(Current.ImageId, out var im)
                        ? Path.Combine(folder, im.FileName).AsMemory()
                        : ReadOnlyMemory<char>.Empty),
                PanopticColumnNames.Width => (ValueGetter<int>)((ref int v) => v = Size().Width),
                PanopticColumnNames.Height => (ValueGetter<int>)((ref int v) => v = Size().Height),
                PanopticColumnNames.SegmentMapPath => (ValueGetter<ReadOnlyMemory<char>>)((ref ReadOnlyMemory<char> v) => v = PngPath.AsMemory()),
                PanopticColumnNames.SegmentMap => (ValueGetter<VBuffer<uint>>)((ref VBuffer<uint> v) =>
                {
                    EnsureMap();
                    var editor = VBufferEditor.Create(ref v, _mapLength);
                    _map.AsSpan(0, _mapLength).CopyTo(editor.Values);
                    v = editor.Commit();
                }),
                PanopticColumnNames.SegmentIds => Vector<uint>(s => s.Id),
                PanopticColumnNames.CategoryIds => Vector(s => s.CategoryId),
                PanopticColumnNames.IsCrowd => Vector(s => s.IsCrowd),
                PanopticColumnNames.Areas => Vector(s => s.Area ?? -1L),
                _ => throw new ArgumentOutOfRangeException(nameof(column), $"unknown column '{column.Name}'"),
            };
            return getter as ValueGetter<TValue>
                ?? throw new InvalidOperationException($"column '{column.Name}' has type {column.Type}, not {typeof(TValue).Name}");
        }

        private ValueGetter<VBuffer<T>> Vector<T>(Func<CocoPanopticSegment, T> select) => (ref VBuffer<T> v) =>
        {
            var segments = Current.Segments;
            var editor = VBufferEditor.Create(ref v, segments.Count);
            for (var i = 0; i < segments.Count; i++) editor.Values[i] = select(segments[i]);
            v = editor.Commit();
        };
    }
}
