namespace Microsoft.ML.Mask2Former.Formats;

/// <summary>One entry of a COCO <c>images</c> list (panoptic and instance files share it).</summary>
/// <param name="Id">The image id, as text (COCO ids are integers; other tools use strings).</param>
/// <param name="FileName">The image file name (the JPEG/PNG of the photo, not the segment map).</param>
/// <param name="Width">Width in pixels.</param>
/// <param name="Height">Height in pixels.</param>
public sealed record CocoImage(string Id, string FileName, int Width, int Height);
