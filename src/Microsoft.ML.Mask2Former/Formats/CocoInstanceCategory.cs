namespace Microsoft.ML.Mask2Former.Formats;

/// <summary>One entry of a COCO instance file's <c>categories</c> list.</summary>
/// <param name="Id">The category id.</param>
/// <param name="Name">Human-readable name.</param>
/// <param name="Supercategory">The COCO supercategory, or an empty string.</param>
public sealed record CocoInstanceCategory(int Id, string Name, string Supercategory = "");
