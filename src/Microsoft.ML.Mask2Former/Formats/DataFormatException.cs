namespace Microsoft.ML.Mask2Former.Formats;

/// <summary>
/// Thrown when an input file or in-memory item does not follow the format it claims to
/// (COCO panoptic / instance JSON, PNG segment maps, results files). The message always names
/// what was wrong and where; the structured properties carry the same location for callers
/// that want to react programmatically (for example skip one image and go on).
/// </summary>
public sealed class DataFormatException : FormatException
{
    /// <summary>Creates the exception with a location-bearing message.</summary>
    /// <param name="message">What was wrong; should already be readable on its own.</param>
    /// <param name="filePath">The file that holds the bad item, if any.</param>
    /// <param name="imageId">The image the item belongs to, if known.</param>
    /// <param name="itemId">The id of the segment or annotation concerned, if known.</param>
    /// <param name="inner">The lower-level failure, if any.</param>
    /// <param name="itemKind">What <paramref name="itemId"/> is the id of.</param>
    public DataFormatException(string message, string? filePath = null, string? imageId = null, long? itemId = null, Exception? inner = null,
        DataFormatItemKind itemKind = DataFormatItemKind.Segment)
        : base(Compose(message, filePath, imageId, itemId, itemKind), inner)
    {
        Reason = message;
        FilePath = filePath;
        ImageId = imageId;
        ItemId = itemId;
        ItemKind = itemKind;
    }

    /// <summary>What was wrong, without the location.</summary>
    public string Reason { get; }

    /// <summary>The file that holds the bad item, or <see langword="null"/>.</summary>
    public string? FilePath { get; }

    /// <summary>The image id (as text, since COCO ids may be integers or strings), or <see langword="null"/>.</summary>
    public string? ImageId { get; }

    /// <summary>The id of the segment or annotation concerned (see <see cref="ItemKind"/>), or <see langword="null"/>.</summary>
    public long? ItemId { get; }

    /// <summary>What <see cref="ItemId"/> is the id of: a panoptic segment or an instance annotation.</summary>
    public DataFormatItemKind ItemKind { get; }

    /// <summary>
    /// The same error with the location filled in where this one lacks it (for callers that know
    /// the image a low-level reader was working on).
    /// </summary>
    public DataFormatException WithLocation(string? filePath = null, string? imageId = null) =>
        new(Reason, FilePath ?? filePath, ImageId ?? imageId, ItemId, this, ItemKind);

    private static string Compose(string message, string? filePath, string? imageId, long? itemId, DataFormatItemKind itemKind)
    {
        var where = new List<string>(3);
        if (filePath is not null) where.Add($"file '{filePath}'");
        if (imageId is not null) where.Add($"image id {imageId}");
        if (itemId is not null) where.Add($"{(itemKind == DataFormatItemKind.Annotation ? "annotation" : "segment")} id {itemId}");
        return where.Count == 0 ? message : $"{message} ({string.Join(", ", where)})";
    }
}

/// <summary>What the id in a <see cref="DataFormatException"/> names.</summary>
public enum DataFormatItemKind
{
    /// <summary>A panoptic segment (<c>segments_info[].id</c>, the id painted in the PNG).</summary>
    Segment,

    /// <summary>An instance annotation (<c>annotations[].id</c> of a COCO instance file).</summary>
    Annotation,
}
