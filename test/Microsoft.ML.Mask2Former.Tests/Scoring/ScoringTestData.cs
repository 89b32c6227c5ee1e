using Microsoft.ML.Data;
using Microsoft.ML.Mask2Former.Scoring;

namespace Microsoft.ML.Mask2Former.Tests.Scoring;

/// <summary>Models, images and label sets shared by the scoring tests.</summary>
internal static class ScoringTestData
{
    public static string SmallModel => Path.Combine(TestPaths.Reference, "model", "small_model.onnx");

    public static string SmallIo => Path.Combine(TestPaths.Reference, "model", "small_io.safetensors");

    /// <summary>The reference model's label layout: classes 0-5 things, 6-9 stuff; dataset ids with gaps, as COCO's.</summary>
    public static IReadOnlyList<Mask2FormerLabel> SmallLabels { get; } =
        new[] { 1, 2, 7, 11, 12, 20, 33, 90, 91, 200 }.Select((id, i) => new Mask2FormerLabel(id, "c" + i, i < 6)).ToArray();

    public sealed class ImageInput
    {
        public string ImagePath { get; set; } = "";
    }

    /// <summary>Writes a deterministic, textured image (gradients plus shapes) of the given size.</summary>
    public static string WriteImage(string folder, string name, int width, int height, int seed = 0)
    {
        var pixels = new byte[width * height * 4];
        var random = new Random(seed);
        int cx = random.Next(width), cy = random.Next(height), radius = Math.Max(1, Math.Min(width, height) / 3);
        for (var y = 0; y < height; y++)
            for (var x = 0; x < width; x++)
            {
                var p = (y * width + x) * 4;
                var inside = (x - cx) * (x - cx) + (y - cy) * (y - cy) < radius * radius;
                pixels[p] = (byte)(inside ? 30 : x * 255 / Math.Max(1, width - 1));
                pixels[p + 1] = (byte)(inside ? 200 : y * 255 / Math.Max(1, height - 1));
                pixels[p + 2] = (byte)((x * 7 + y * 13 + seed * 50) & 0xFF);
                pixels[p + 3] = 255;
            }
        var path = Path.Combine(folder, name);
        using var image = MLImage.CreateFromPixels(width, height, MLPixelFormat.Bgra32, pixels);
        image.Save(path);
        return path;
    }

    /// <summary>A set of small images of different shapes in a fresh folder.</summary>
    public static string[] WriteImageSet(string folder) =>
    [
        WriteImage(folder, "000000000001.png", 160, 96, 1),
        WriteImage(folder, "000000000002.png", 120, 150, 2),
        WriteImage(folder, "street.jpg", 211, 97, 3),
    ];

    public static IDataView Paths(MLContext ml, IEnumerable<string> paths) =>
        ml.Data.LoadFromEnumerable(paths.Select(p => new ImageInput { ImagePath = p }).ToArray());

    public static IEstimator<ITransformer> Load(MLContext ml) => ml.Transforms.LoadImages("Image", null, nameof(ImageInput.ImagePath));

    /// <summary>
    /// A model with the Mask2Former interface whose outputs are constants: input
    /// <c>pixel_values</c> [1,3,H,W], outputs as given (for NaN logits and malformed models).
    /// </summary>
    public static byte[] ConstantModel(int height, int width, (string Name, long[] Dims, float[] Values)[] outputs)
    {
        var writer = new OnnxProtoWriter().Input("pixel_values", OnnxProtoWriter.Float, 1, 3, height, width);
        foreach (var (name, dims, values) in outputs) writer.ConstantOutput(name, dims, values);
        return writer.ToArray();
    }

    public static float[] Random(int count, int seed, float scale = 3f)
    {
        var r = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => (float)(r.NextDouble() * 2 - 1) * scale).ToArray();
    }

    /// <summary>Reads one column of every row through a cursor (images must not outlive their row).</summary>
    public static List<T> Column<T>(IDataView view, string name)
    {
        var column = view.Schema[name];
        var result = new List<T>();
        using var cursor = view.GetRowCursor([column]);
        var getter = cursor.GetGetter<T>(column);
        while (cursor.MoveNext())
        {
            T value = default!;
            getter(ref value);
            result.Add(value);
        }
        return result;
    }

    /// <summary>Every row's value of the given columns, read in one pass (vectors as arrays, scalars boxed).</summary>
    public static List<Dictionary<string, object>> Rows(IDataView view, params string[] names)
    {
        var columns = names.Select(n => view.Schema[n]).ToArray();
        var rows = new List<Dictionary<string, object>>();
        using var cursor = view.GetRowCursor(columns);
        var readers = columns.Select(c => Reader(cursor, c)).ToArray();
        while (cursor.MoveNext())
        {
            var row = new Dictionary<string, object>();
            for (var i = 0; i < columns.Length; i++) row[columns[i].Name] = readers[i]();
            rows.Add(row);
        }
        return rows;
    }

    private static Func<object> Reader(DataViewRowCursor cursor, DataViewSchema.Column column)
    {
        Func<object> Vector<T>()
        {
            var getter = cursor.GetGetter<VBuffer<T>>(column);
            return () =>
            {
                VBuffer<T> value = default;
                getter(ref value);
                return value.DenseValues().ToArray();
            };
        }
        Func<object> Scalar<T>()
        {
            var getter = cursor.GetGetter<T>(column);
            return () =>
            {
                T value = default!;
                getter(ref value);
                return value!;
            };
        }
        var raw = (column.Type is VectorDataViewType v ? v.ItemType : column.Type).RawType;
        if (column.Type is VectorDataViewType)
        {
            if (raw == typeof(float)) return Vector<float>();
            if (raw == typeof(double)) return Vector<double>();
            if (raw == typeof(uint)) return Vector<uint>();
            if (raw == typeof(int)) return Vector<int>();
            if (raw == typeof(long)) return Vector<long>();
            if (raw == typeof(bool)) return Vector<bool>();
            if (raw == typeof(byte)) return Vector<byte>();
            if (raw == typeof(ReadOnlyMemory<char>)) return Vector<ReadOnlyMemory<char>>();
        }
        else if (raw == typeof(int)) return Scalar<int>();
        throw new NotSupportedException(column.Type.ToString());
    }

    public static List<T[]> Vectors<T>(IDataView view, string name) =>
        Column<VBuffer<T>>(view, name).Select(v => v.DenseValues().ToArray()).ToList();
}
