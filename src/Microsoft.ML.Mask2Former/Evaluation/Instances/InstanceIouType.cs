namespace Microsoft.ML.Mask2Former.Evaluation;

/// <summary>What COCO instance AP compares: boxes or masks (pycocotools' <c>iouType</c>).</summary>
public enum InstanceIouType
{
    /// <summary>Box AP (<c>bbox</c>): IoU of [x, y, width, height] rectangles.</summary>
    BoundingBox,

    /// <summary>Mask AP (<c>segm</c>): IoU of the masks (RLE).</summary>
    Segmentation,
}
