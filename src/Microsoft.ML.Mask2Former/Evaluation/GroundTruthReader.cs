using Microsoft.ML.Data;
using Microsoft.ML.Mask2Former.Data;

namespace Microsoft.ML.Mask2Former.Evaluation;

/// <summary>
/// Reads the panoptic ground truth of one row at a time (image id, segment-id map, segments) for
/// the three <see cref="IDataView"/> evaluators, with the columns checked once against the schema.
/// </summary>
internal sealed class GroundTruthReader
{
    private readonly DataViewSchema.Column _map, _ids, _categories;
    private readonly DataViewSchema.Column? _crowd, _areas, _imageId;
    private ValueGetter<VBuffer<uint>>? _getMap, _getIds;
    private ValueGetter<VBuffer<int>>? _getCategories;
    private ValueGetter<VBuffer<bool>>? _getCrowd;
    private ValueGetter<VBuffer<long>>? _getAreas;
    private ValueGetter<ReadOnlyMemory<char>>? _getImageId;
    private DataViewRowCursor? _cursor;
    private VBuffer<uint> _mapBuffer, _idsBuffer;
    private VBuffer<int> _categoriesBuffer;
    private VBuffer<bool> _crowdBuffer;
    private VBuffer<long> _areasBuffer;
    private ReadOnlyMemory<char> _imageIdBuffer;

    /// <param name="schema">The data's schema.</param>
    /// <param name="columns">The column names.</param>
    /// <param name="withCrowdAndAreas">Whether the crowd flags and areas are read (where the columns exist).</param>
    public GroundTruthReader(DataViewSchema schema, GroundTruthColumnOptions columns, bool withCrowdAndAreas = true)
    {
        _map = SchemaChecks.Require(schema, "label segment map", columns.SegmentMapColumnName, NumberDataViewType.UInt32, true);
        _ids = SchemaChecks.Require(schema, "label segment ids", columns.SegmentIdsColumnName, NumberDataViewType.UInt32, true);
        _categories = SchemaChecks.Require(schema, "label category ids", columns.CategoryIdsColumnName, NumberDataViewType.Int32, true);
        if (withCrowdAndAreas)
        {
            _crowd = SchemaChecks.Optional(schema, "label crowd flags", columns.IsCrowdColumnName, BooleanDataViewType.Instance, true);
            _areas = SchemaChecks.Optional(schema, "label areas", columns.AreasColumnName, NumberDataViewType.Int64, true);
        }
        _imageId = SchemaChecks.Optional(schema, "image id", columns.ImageIdColumnName, TextDataViewType.Instance, false);
    }

    /// <summary>The columns a cursor must make active.</summary>
    public IEnumerable<DataViewSchema.Column> Columns
    {
        get
        {
            yield return _map;
            yield return _ids;
            yield return _categories;
            if (_crowd is { } c) yield return c;
            if (_areas is { } a) yield return a;
            if (_imageId is { } i) yield return i;
        }
    }

    public void Bind(DataViewRowCursor cursor)
    {
        _cursor = cursor;
        _getMap = cursor.GetGetter<VBuffer<uint>>(_map);
        _getIds = cursor.GetGetter<VBuffer<uint>>(_ids);
        _getCategories = cursor.GetGetter<VBuffer<int>>(_categories);
        _getCrowd = _crowd is { } c ? cursor.GetGetter<VBuffer<bool>>(c) : null;
        _getAreas = _areas is { } a ? cursor.GetGetter<VBuffer<long>>(a) : null;
        _getImageId = _imageId is { } i ? cursor.GetGetter<ReadOnlyMemory<char>>(i) : null;
    }

    /// <summary>The current row's image id: the id column's value, else "row N".</summary>
    public string ImageId()
    {
        if (_getImageId is null) return $"row {_cursor!.Position}";
        _getImageId(ref _imageIdBuffer);
        return _imageIdBuffer.ToString();
    }

    /// <summary>The current row's segment-id map (row-major).</summary>
    public ReadOnlySpan<uint> Map()
    {
        _getMap!(ref _mapBuffer);
        return Dense(_mapBuffer);
    }

    /// <summary>The current row's segments, with crowd flags and JSON areas where the columns exist.</summary>
    public CocoPanopticSegment[] Segments(string imageId)
    {
        _getIds!(ref _idsBuffer);
        _getCategories!(ref _categoriesBuffer);
        _getCrowd?.Invoke(ref _crowdBuffer);
        _getAreas?.Invoke(ref _areasBuffer);
        return Segments(imageId, "label", _idsBuffer, _categoriesBuffer, _getCrowd is null ? null : _crowdBuffer, _getAreas is null ? null : _areasBuffer);
    }

    public static ReadOnlySpan<T> Dense<T>(in VBuffer<T> buffer) where T : struct
    {
        if (buffer.IsDense) return buffer.GetValues();
        var dense = new T[buffer.Length];
        buffer.CopyTo(dense);
        return dense;
    }

    /// <summary>Parallel segment vectors as segments; their lengths must agree.</summary>
    public static CocoPanopticSegment[] Segments(string imageId, string role, in VBuffer<uint> ids, in VBuffer<int> categories,
        VBuffer<bool>? crowd, VBuffer<long>? areas)
    {
        var n = ids.Length;
        if (categories.Length != n)
            throw new DataFormatException($"{role} segment ids ({n}) and category ids ({categories.Length}) differ in length", imageId: imageId);
        if (crowd is { } c && c.Length != n)
            throw new DataFormatException($"{role} segment ids ({n}) and crowd flags ({c.Length}) differ in length", imageId: imageId);
        if (areas is { } a && a.Length != n)
            throw new DataFormatException($"{role} segment ids ({n}) and areas ({a.Length}) differ in length", imageId: imageId);
        var idv = Dense(ids);
        var catv = Dense(categories);
        var crowdv = crowd is { } cc ? Dense(cc) : default;
        var areav = areas is { } aa ? Dense(aa) : default;
        var result = new CocoPanopticSegment[n];
        for (var i = 0; i < n; i++)
        {
            long? area = areav.IsEmpty || areav[i] < 0 ? null : areav[i];
            result[i] = new CocoPanopticSegment(idv[i], catv[i], !crowdv.IsEmpty && crowdv[i], area);
        }
        return result;
    }
}
