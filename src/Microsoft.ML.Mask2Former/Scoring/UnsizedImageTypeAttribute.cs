using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;

namespace Microsoft.ML.Mask2Former.Scoring;

/// <summary>
/// Marks an <see cref="MLImage"/> member as an image of unspecified size, the type
/// <c>LoadImages</c> produces. ML.NET 5's own <c>[ImageType]</c> without a size registers an
/// image type of size 0×0, which its constructor refuses, so that form cannot be used.
/// </summary>
internal sealed class UnsizedImageTypeAttribute : DataViewTypeAttribute
{
    public override bool Equals(DataViewTypeAttribute other) => other is UnsizedImageTypeAttribute;

    public override int GetHashCode() => typeof(UnsizedImageTypeAttribute).GetHashCode();

    public override void Register() => DataViewTypeManager.Register(new ImageDataViewType(), typeof(MLImage), this);
}
