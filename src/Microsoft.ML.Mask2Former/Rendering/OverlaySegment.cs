namespace Microsoft.ML.Mask2Former.Rendering;

/// <summary>One segment to draw: its id in the segment map, its category, the caption and an optional score.</summary>
/// <param name="Id">The segment id as it appears in the segment map (0 is void and never drawn).</param>
/// <param name="CategoryId">The category id; it picks the colour (<see cref="CategoryPalette"/>).</param>
/// <param name="Label">The caption (usually the category name).</param>
/// <param name="Score">The confidence shown after the caption, or <see langword="null"/> for none (ground truth).</param>
public sealed record OverlaySegment(uint Id, int CategoryId, string Label, float? Score = null);
