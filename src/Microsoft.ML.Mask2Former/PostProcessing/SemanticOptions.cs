namespace Microsoft.ML.Mask2Former.PostProcessing;

/// <summary>Options of detectron2-exact semantic post-processing (<see cref="Mask2FormerPostProcessor.Semantic"/>).</summary>
public sealed class SemanticOptions
{
    /// <summary>
    /// When <see langword="true"/>, mask logits are cropped and resized to the output size before
    /// the class/mask product; when <see langword="false"/> the product is taken at the padded
    /// size and the soft scores are cropped and resized. Default <see langword="false"/>
    /// (<c>SEM_SEG_POSTPROCESSING_BEFORE_INFERENCE</c>); detectron2 forces it on when panoptic or
    /// instance inference is on.
    /// </summary>
    public bool PostProcessBeforeInference { get; set; }

    /// <summary>Whether to return the soft <c>[K, H, W]</c> scores as well as the class map (K·H·W floats). Default <see langword="false"/>.</summary>
    public bool IncludeScores { get; set; }
}
