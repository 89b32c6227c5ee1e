namespace Microsoft.ML.Mask2Former.PostProcessing;

/// <summary>One detected instance: a (query, class) pair of the top-k with its mask.</summary>
public sealed class InstancePrediction
{
    internal InstancePrediction(int queryIndex, int classId, int flatIndex, float classScore, float maskScore, float score, InstanceMask mask, PixelBox box)
    {
        QueryIndex = queryIndex;
        ClassId = classId;
        FlatIndex = flatIndex;
        ClassScore = classScore;
        MaskScore = maskScore;
        Score = score;
        Mask = mask;
        Box = box;
    }

    /// <summary>The query the mask comes from.</summary>
    public int QueryIndex { get; }

    /// <summary>The class: the index of the class logit (0 … K−1).</summary>
    public int ClassId { get; }

    /// <summary><c>QueryIndex · K + ClassId</c>, the index into the flattened <c>[Q, K]</c> class probabilities.</summary>
    public int FlatIndex { get; }

    /// <summary>The softmax probability of the class for the query.</summary>
    public float ClassScore { get; }

    /// <summary>The mean mask probability inside the mask (0 for an empty mask).</summary>
    public float MaskScore { get; }

    /// <summary><see cref="ClassScore"/> × <see cref="MaskScore"/>, in float32.</summary>
    public float Score { get; }

    /// <summary>The mask: mask logit &gt; 0 at the output size.</summary>
    public InstanceMask Mask { get; }

    /// <summary>The bounding box of the mask (all zero when it is empty).</summary>
    public PixelBox Box { get; }
}
