namespace Microsoft.ML.Mask2Former.Formats;

/// <summary>
/// The pieces COCO JSON files share (a data set's top-level object, its <c>images</c> entries,
/// a category's common fields, number arrays such as <c>bbox</c>), written one way for the
/// panoptic, instance and results writers.
/// </summary>
internal static class CocoJsonWriter
{
    /// <summary>
    /// Writes <c>{"images": […], "annotations": […], "categories": […]}</c> atomically; the
    /// annotations and categories come in the caller's own form.
    /// </summary>
    public static void SaveDataset<TAnnotation, TCategory>(string path, IEnumerable<CocoImage> images,
        IEnumerable<TAnnotation> annotations, Action<Utf8JsonWriter, TAnnotation> writeAnnotation,
        IEnumerable<TCategory> categories, Action<Utf8JsonWriter, TCategory> writeCategory)
    {
        AtomicFile.Write(path, stream =>
        {
            using var w = new Utf8JsonWriter(stream);
            w.WriteStartObject();
            w.WriteStartArray("images");
            foreach (var im in images)
            {
                w.WriteStartObject();
                CocoIds.Write(w, "id", im.Id);
                w.WriteString("file_name", im.FileName);
                w.WriteNumber("width", im.Width);
                w.WriteNumber("height", im.Height);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            WriteObjects(w, "annotations", annotations, writeAnnotation);
            WriteObjects(w, "categories", categories, writeCategory);
            w.WriteEndObject();
        });
    }

    /// <summary>The fields every COCO category has: <c>id</c>, <c>name</c>, <c>supercategory</c>.</summary>
    public static void WriteCategoryFields(Utf8JsonWriter w, int id, string name, string supercategory)
    {
        w.WriteNumber("id", id);
        w.WriteString("name", name);
        w.WriteString("supercategory", supercategory);
    }

    /// <summary>A named array of numbers (a <c>bbox</c>, a <c>color</c>), or nothing when <paramref name="values"/> is null.</summary>
    public static void WriteNumbers(Utf8JsonWriter w, string name, IEnumerable<double>? values)
    {
        if (values is null) return;
        w.WriteStartArray(name);
        foreach (var v in values) w.WriteNumberValue(v);
        w.WriteEndArray();
    }

    /// <inheritdoc cref="WriteNumbers(Utf8JsonWriter, string, IEnumerable{double}?)"/>
    public static void WriteNumbers(Utf8JsonWriter w, string name, IEnumerable<int>? values)
    {
        if (values is null) return;
        w.WriteStartArray(name);
        foreach (var v in values) w.WriteNumberValue(v);
        w.WriteEndArray();
    }

    private static void WriteObjects<T>(Utf8JsonWriter w, string name, IEnumerable<T> items, Action<Utf8JsonWriter, T> write)
    {
        w.WriteStartArray(name);
        foreach (var item in items)
        {
            w.WriteStartObject();
            write(w, item);
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }
}
