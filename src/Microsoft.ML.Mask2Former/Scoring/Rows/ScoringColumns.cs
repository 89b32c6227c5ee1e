namespace Microsoft.ML.Mask2Former.Scoring;

/// <summary>Names of the intermediate columns.</summary>
internal static class ScoringColumns
{
    public const string Image = "m2f.Image";
    public const string Rgb = "m2f.Rgb";
    public const string Size = "m2f.Size";
    public const string Config = "m2f.Config";
    public const string Labels = "m2f.Labels";
    public const string PixelValues = OnnxModelDescription.PixelValues;
    public const string ClassLogits = OnnxModelDescription.ClassLogits;
    public const string MaskLogits = OnnxModelDescription.MaskLogits;
}
