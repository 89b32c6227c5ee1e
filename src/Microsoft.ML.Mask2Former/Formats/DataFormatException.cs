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
    /// <param name="segmentId">The segment, annotation or detection concerned, if known.</param>
    /// <param name="inner">The lower-level failure, if any.</param>
    public DataFormatException(string message, string? filePath = null, string? imageId = null, long? segmentId = null, Exception? inner = null)
        : base(Compose(message, filePath, imageId, segmentId), inner)
    {
        Reason = message;
        FilePath = filePath;
        ImageId = imageId;
        SegmentId = segmentId;
    }

    /// <summary>What was wrong, without the location.</summary>
    public string Reason { get; }

    /// <summary>The file that holds the bad item, or <see langword="null"/>.</summary>
    public string? FilePath { get; }

    /// <summary>The image id (as text, since COCO ids may be integers or strings), or <see langword="null"/>.</summary>
    public string? ImageId { get; }

    /// <summary>The segment / annotation / detection id, or <see langword="null"/>.</summary>
    public long? SegmentId { get; }

    /// <summary>
    /// The same error with the location filled in where this one lacks it (for callers that know
    /// the image a low-level reader was working on).
    /// </summary>
    public DataFormatException WithLocation(string? filePath = null, string? imageId = null, long? segmentId = null) =>
        new(Reason, FilePath ?? filePath, ImageId ?? imageId, SegmentId ?? segmentId, this);

    private static string Compose(string message, string? filePath, string? imageId, long? segmentId)
    {
        var where = new List<string>(3);
        if (filePath is not null) where.Add($"file '{filePath}'");
        if (imageId is not null) where.Add($"image id {imageId}");
        if (segmentId is not null) where.Add($"segment id {segmentId}");
        return where.Count == 0 ? message : $"{message} ({string.Join(", ", where)})";
    }
}
