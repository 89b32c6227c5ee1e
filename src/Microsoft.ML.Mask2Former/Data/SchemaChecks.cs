using Microsoft.ML.Data;

namespace Microsoft.ML.Mask2Former.Data;

/// <summary>Schema validation with messages that name the column, the expected type and what was found.</summary>
internal static class SchemaChecks
{
    public static DataViewSchema.Column Require(DataViewSchema schema, string role, string name, DataViewType itemType, bool vector)
    {
        var found = schema.GetColumnOrNull(name)
            ?? throw new ArgumentOutOfRangeException(nameof(name),
                $"{role} column '{name}' not found; the data has: {string.Join(", ", schema.Select(c => $"'{c.Name}' ({c.Type})"))}");
        var ok = vector
            ? found.Type is VectorDataViewType v && v.ItemType.Equals(itemType)
            : found.Type.Equals(itemType);
        if (!ok)
        {
            var expected = vector ? $"a vector of {itemType}" : itemType.ToString();
            throw new ArgumentOutOfRangeException(nameof(name), $"{role} column '{name}' must be {expected}, found {found.Type}");
        }
        return found;
    }

    public static DataViewSchema.Column? Optional(DataViewSchema schema, string role, string? name, DataViewType itemType, bool vector) =>
        name is null || schema.GetColumnOrNull(name) is null ? null : Require(schema, role, name, itemType, vector);
}
