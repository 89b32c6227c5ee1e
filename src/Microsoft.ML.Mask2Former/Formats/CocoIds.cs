namespace Microsoft.ML.Mask2Former.Formats;

/// <summary>Ids that COCO writes as integers and other tools as strings, held as text.</summary>
internal static class CocoIds
{
    /// <summary>Writes an id as a JSON integer when it is the canonical decimal text of one, else as a string.</summary>
    public static void Write(Utf8JsonWriter w, string name, string id)
    {
        if (TryInteger(id, out var n)) w.WriteNumber(name, n);
        else w.WriteString(name, id);
    }

    /// <summary>Whether an id is the canonical decimal text of an integer (so "7" but not "007").</summary>
    public static bool TryInteger(string id, out long value) =>
        long.TryParse(id, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value)
        && value.ToString(CultureInfo.InvariantCulture) == id;

    /// <summary>
    /// Orders ids as <c>np.unique</c> orders COCO's: numerically when all are integers, else by
    /// ordinal text.
    /// </summary>
    public static string[] Sorted(IEnumerable<string> ids)
    {
        var distinct = ids.Distinct(StringComparer.Ordinal).ToArray();
        var numbers = new long[distinct.Length];
        var allIntegers = true;
        for (var i = 0; i < distinct.Length && allIntegers; i++) allIntegers = TryInteger(distinct[i], out numbers[i]);
        if (allIntegers) Array.Sort(numbers, distinct);
        else Array.Sort(distinct, StringComparer.Ordinal);
        return distinct;
    }
}
