namespace Microsoft.ML.Mask2Former.PostProcessing;

/// <summary>One entry of Hugging Face's <c>segments_info</c>.</summary>
public sealed class HuggingFaceSegment
{
    internal HuggingFaceSegment(int id, int labelId, bool wasFused, float score)
    {
        Id = id;
        LabelId = labelId;
        WasFused = wasFused;
        Score = score;
        RoundedScore = double.Parse(((double)score).ToString("F6", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
    }

    /// <summary>The value painted into the map (panoptic: from 1, possibly repeated for fused labels; instance: from 0).</summary>
    public int Id { get; }

    /// <summary>The class: the index of the class logit.</summary>
    public int LabelId { get; }

    /// <summary>Whether the label is one of <c>label_ids_to_fuse</c> (always <see langword="false"/> for instances).</summary>
    public bool WasFused { get; }

    /// <summary>The float32 score (panoptic: class probability; instance: class probability × mean mask probability).</summary>
    public float Score { get; }

    /// <summary><see cref="Score"/> rounded to 6 decimals, what Hugging Face returns (<c>round(score, 6)</c>).</summary>
    public double RoundedScore { get; }
}
