namespace Microsoft.ML.Mask2Former.Training.Modeling.VitAdapter;

/// <summary>
/// The adapter's convolutional spatial prior: a stem of three 3×3 conv-BN-ReLU and a max-pool
/// (stride 4), then three stride-2 conv-BN-ReLU (strides 8, 16, 32), each level projected to the
/// ViT width by a 1×1 convolution (<c>fc1</c>…<c>fc4</c>).
/// </summary>
public sealed class SpatialPriorModule : nn.Module
{
    private readonly Sequential stem;
    private readonly Sequential conv2;
    private readonly Sequential conv3;
    private readonly Sequential conv4;
    private readonly Conv2d fc1;
    private readonly Conv2d fc2;
    private readonly Conv2d fc3;
    private readonly Conv2d fc4;

    /// <summary>Creates the prior of <paramref name="config"/>.</summary>
    public SpatialPriorModule(VitAdapterConfig config) : base(nameof(SpatialPriorModule))
    {
        var c = config.ConvInplane;
        // Indices match upstream's Sequential (stem.0 conv, stem.1 BN, stem.2 ReLU, …, stem.9 max-pool).
        stem = nn.Sequential(
            Conv(config.NumChannels, c, 2), Norm(c), nn.ReLU(),
            Conv(c, c, 1), Norm(c), nn.ReLU(),
            Conv(c, c, 1), Norm(c), nn.ReLU(),
            nn.MaxPool2d(kernel_size: 3, stride: 2, padding: 1));
        conv2 = nn.Sequential(Conv(c, 2 * c, 2), Norm(2 * c), nn.ReLU());
        conv3 = nn.Sequential(Conv(2 * c, 4 * c, 2), Norm(4 * c), nn.ReLU());
        conv4 = nn.Sequential(Conv(4 * c, 4 * c, 2), Norm(4 * c), nn.ReLU());
        fc1 = nn.Conv2d(c, config.EmbedDim, kernel_size: 1);
        fc2 = nn.Conv2d(2 * c, config.EmbedDim, kernel_size: 1);
        fc3 = nn.Conv2d(4 * c, config.EmbedDim, kernel_size: 1);
        fc4 = nn.Conv2d(4 * c, config.EmbedDim, kernel_size: 1);
        RegisterComponents();
    }

    private static Conv2d Conv(int input, int output, int stride) =>
        nn.Conv2d(input, output, kernel_size: 3, stride: stride, padding: 1, bias: false);

    private static BatchNorm2d Norm(int channels) => nn.BatchNorm2d(channels, eps: VitAdapterConfig.BatchNormEps);

    /// <summary>
    /// Pixels [B, 3, H, W] → the stride-4 map c1 [B, C, H/4, W/4] and the stride 8/16/32 levels
    /// c2, c3, c4 as tokens [B, n, C] (row-major).
    /// </summary>
    public (Tensor C1, Tensor C2, Tensor C3, Tensor C4) forward(Tensor pixels)
    {
        using var scope = NewDisposeScope();
        var s1 = stem.forward(pixels);
        var s2 = conv2.forward(s1);
        var s3 = conv3.forward(s2);
        var s4 = conv4.forward(s3);
        static Tensor Tokens(Tensor map) => map.flatten(2).transpose(1, 2);
        return (fc1.forward(s1).MoveToOuterDisposeScope(), Tokens(fc2.forward(s2)).MoveToOuterDisposeScope(),
            Tokens(fc3.forward(s3)).MoveToOuterDisposeScope(), Tokens(fc4.forward(s4)).MoveToOuterDisposeScope());
    }
}
