namespace Microsoft.ML.Mask2Former.Formats;

/// <summary>One entry of a COCO panoptic <c>categories</c> list.</summary>
/// <param name="Id">The category id used by segments.</param>
/// <param name="Name">Human-readable name.</param>
/// <param name="IsThing"><see langword="true"/> for countable objects (things), <see langword="false"/> for amorphous regions (stuff).</param>
/// <param name="Supercategory">The COCO supercategory, or an empty string.</param>
/// <param name="Color">The display colour [R, G, B] from the JSON, or <see langword="null"/> when absent.</param>
public sealed record CocoPanopticCategory(int Id, string Name, bool IsThing, string Supercategory = "", IReadOnlyList<int>? Color = null);
