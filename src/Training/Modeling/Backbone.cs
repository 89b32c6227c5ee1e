namespace Microsoft.ML.Mask2Former.Training.Modeling;

/// <summary>A backbone: pixels [B, 3, H, W] → four feature maps at strides 4, 8, 16, 32.</summary>
public abstract class Backbone : nn.Module<Tensor, Tensor[]>
{
    /// <summary>Creates the module.</summary>
    protected Backbone(string name) : base(name)
    {
    }

    /// <summary>Channels of the four feature maps.</summary>
    public abstract IReadOnlyList<int> OutChannels { get; }
}
