namespace Microsoft.ML.Mask2Former.Scoring;

/// <summary>
/// Which reference implementation panoptic and instance post-processing reproduces. Both take the
/// same model outputs; they differ in which segments they keep and how pixels are painted.
/// </summary>
public enum PostProcessingMode
{
    /// <summary>
    /// The original Mask2Former (detectron2 <c>panoptic_inference</c> / <c>instance_inference</c>,
    /// <see cref="PostProcessing.Mask2FormerPostProcessor"/>): the default, and what the paper's
    /// detectron2 numbers use.
    /// </summary>
    Detectron2 = 0,

    /// <summary>
    /// mmdetection 2.25's <c>MaskFormerFusionHead</c> (<see cref="PostProcessing.MmDetectionPostProcessor"/>):
    /// what the published numbers of mmdetection checkpoints (Mask2Former + ViT-Adapter among them)
    /// use. Panoptic results are converted to segment ids 1 … n (0 = void); instances are things only.
    /// </summary>
    MmDetection = 1,
}

/// <summary>Names of <see cref="PostProcessingMode"/> on the command line and in <c>m2f.*</c> metadata, and the model's choice.</summary>
internal static class PostProcessingModes
{
    public const string MetadataKey = "m2f.post_processing";
    public const string FilterLowScoreKey = "m2f.filter_low_score";

    /// <summary>"d2" / "detectron2" or "mmdet" / "mmdetection" (any case); null when the text is none of them.</summary>
    public static PostProcessingMode? Parse(string text) => text.Trim().ToLowerInvariant() switch
    {
        "d2" or "detectron2" => PostProcessingMode.Detectron2,
        "mmdet" or "mmdetection" => PostProcessingMode.MmDetection,
        _ => null,
    };

    /// <summary>The model's <c>m2f.post_processing</c>, or null when it has none.</summary>
    public static PostProcessingMode? FromMetadata(OnnxModelDescription model, string source)
    {
        if (!model.Metadata.TryGetValue(MetadataKey, out var text)) return null;
        return Parse(text) ?? throw new InvalidOperationException(
            $"{source}: metadata '{MetadataKey}' must be 'detectron2' or 'mmdetection'; found '{text}'.");
    }

    /// <summary>The model's <c>m2f.filter_low_score</c> (true / false / 1 / 0), or null when it has none.</summary>
    public static bool? FilterLowScoreFromMetadata(OnnxModelDescription model, string source)
    {
        if (!model.Metadata.TryGetValue(FilterLowScoreKey, out var text)) return null;
        return text.Trim().ToLowerInvariant() switch
        {
            "true" or "1" => true,
            "false" or "0" => false,
            _ => throw new InvalidOperationException($"{source}: metadata '{FilterLowScoreKey}' must be true or false; found '{text}'."),
        };
    }

    /// <summary>
    /// Options, then the model's metadata, then detectron2. <c>filter_low_score</c> belongs to
    /// mmdetection: setting it with detectron2 is an error, and it is false there.
    /// </summary>
    public static (PostProcessingMode Mode, bool FilterLowScore) Resolve(PostProcessingMode? mode, bool? filterLowScore, OnnxModelDescription model, string source)
    {
        if (mode is { } m && !Enum.IsDefined(m))
            throw new ArgumentException($"PostProcessing must be Detectron2 or MmDetection; found {(int)m}.");
        var resolved = mode ?? FromMetadata(model, source) ?? PostProcessingMode.Detectron2;
        if (resolved == PostProcessingMode.Detectron2)
        {
            if (filterLowScore is not null)
                throw new ArgumentException("FilterLowScore is an mmdetection setting (PostProcessing = MmDetection); detectron2 always keeps only the pixels whose mask probability is at least 0.5.");
            return (resolved, false);
        }
        return (resolved, filterLowScore ?? FilterLowScoreFromMetadata(model, source) ?? false);
    }

    /// <summary>The <c>m2f.Config</c> code: 0 detectron2, 1 mmdetection, 2 mmdetection with <c>filter_low_score</c>.</summary>
    public static double ToCode(PostProcessingMode mode, bool filterLowScore) =>
        mode == PostProcessingMode.MmDetection ? (filterLowScore ? 2 : 1) : 0;

    public static (PostProcessingMode Mode, bool FilterLowScore) FromCode(double code) => code switch
    {
        0 => (PostProcessingMode.Detectron2, false),
        1 => (PostProcessingMode.MmDetection, false),
        2 => (PostProcessingMode.MmDetection, true),
        _ => throw new InvalidOperationException($"the m2f.Config column names post-processing {code}; this library knows 0 (detectron2), 1 and 2 (mmdetection without / with filter_low_score). Was the model saved by another version?"),
    };
}
