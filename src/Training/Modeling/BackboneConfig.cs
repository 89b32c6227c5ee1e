namespace Microsoft.ML.Mask2Former.Training.Modeling;

/// <summary>The backbone part of a <see cref="Mask2FormerConfig"/> (Hugging Face <c>backbone_config</c>).</summary>
public abstract class BackboneConfig
{
    /// <summary>Hugging Face <c>model_type</c>: "swin" or "resnet".</summary>
    public abstract string ModelType { get; }

    /// <summary>Channels of the four feature maps handed to the pixel decoder (strides 4, 8, 16, 32).</summary>
    public abstract IReadOnlyList<int> OutChannels { get; }

    /// <summary>Stage names the pixel decoder reads (Hugging Face <c>out_features</c>); always stage1–stage4 here.</summary>
    public IReadOnlyList<string> OutFeatures { get; init; } = new[] { "stage1", "stage2", "stage3", "stage4" };

    /// <summary>Adds every inconsistency of this backbone to <paramref name="problems"/>.</summary>
    internal virtual void Check(List<string> problems)
    {
        if (!OutFeatures.SequenceEqual(new[] { "stage1", "stage2", "stage3", "stage4" }))
            problems.Add($"backbone out_features must be [stage1, stage2, stage3, stage4] (the pixel decoder reads strides 4-32), got [{string.Join(", ", OutFeatures)}]");
    }
}
