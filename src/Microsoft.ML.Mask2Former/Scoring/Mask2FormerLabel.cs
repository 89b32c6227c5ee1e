namespace Microsoft.ML.Mask2Former.Scoring;

/// <summary>What one class logit of a Mask2Former model stands for.</summary>
/// <param name="Id">The dataset category id written to the results (COCO <c>category_id</c>); by default logit index + 1.</param>
/// <param name="Name">The category name.</param>
/// <param name="IsThing">Whether the category is a thing (countable; one segment per instance) or stuff (all queries of the category merge into one segment).</param>
public sealed record Mask2FormerLabel(int Id, string Name, bool IsThing);
