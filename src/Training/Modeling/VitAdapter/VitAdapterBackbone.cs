using Microsoft.ML.Mask2Former.Training.Modeling.PixelDecoder;

namespace Microsoft.ML.Mask2Former.Training.Modeling.VitAdapter;

/// <summary>
/// ViT-Adapter on the detection variant of BEiT (upstream <c>BEiTAdapter</c>, state-dict names
/// unchanged below <c>backbone.</c>): the spatial prior's strides 8/16/32 (plus a level
/// embedding) and the ViT tokens interact through injectors and extractors; the prior's
/// stride-8 level, transposed-convolved to stride 4 and added to the stride-4 prior map, and its
/// three levels, each plus the final ViT tokens resized to that stride, give the four outputs
/// after one batch norm each. Inputs need sides that are a multiple of 32.
/// </summary>
public sealed class VitAdapterBackbone : Backbone
{
    private readonly BeitPatchEmbed patch_embed;
    private readonly ModuleList<BeitBlock> blocks;
    private readonly Parameter level_embed;
    private readonly SpatialPriorModule spm;
    private readonly ModuleList<InteractionBlock> interactions;
    private readonly ConvTranspose2d up;
    private readonly BatchNorm2d norm1;
    private readonly BatchNorm2d norm2;
    private readonly BatchNorm2d norm3;
    private readonly BatchNorm2d norm4;
    private readonly VitAdapterConfig _config;

    /// <summary>Creates the backbone of <paramref name="config"/> (random weights).</summary>
    public VitAdapterBackbone(VitAdapterConfig config) : base(nameof(VitAdapterBackbone))
    {
        ArgumentNullException.ThrowIfNull(config);
        _config = config;
        var dim = config.EmbedDim;
        patch_embed = new BeitPatchEmbed(config);
        var rates = Enumerable.Range(0, config.Depth).Select(i => config.Depth == 1 ? 0.0 : config.DropPathRate * i / (config.Depth - 1));
        blocks = nn.ModuleList(rates.Select((rate, i) => new BeitBlock(config, i, rate)).ToArray());
        level_embed = new Parameter(zeros(3, dim));
        level_embed.DetachFromDisposeScope();
        spm = new SpatialPriorModule(config);
        var count = config.InteractionIndexes.Count;
        interactions = nn.ModuleList(Enumerable.Range(0, count).Select(i => new InteractionBlock(config, i == count - 1)).ToArray());
        up = nn.ConvTranspose2d(dim, dim, kernel_size: 2, stride: 2);
        norm1 = nn.BatchNorm2d(dim, eps: VitAdapterConfig.BatchNormEps);
        norm2 = nn.BatchNorm2d(dim, eps: VitAdapterConfig.BatchNormEps);
        norm3 = nn.BatchNorm2d(dim, eps: VitAdapterConfig.BatchNormEps);
        norm4 = nn.BatchNorm2d(dim, eps: VitAdapterConfig.BatchNormEps);
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override IReadOnlyList<int> OutChannels => _config.OutChannels;

    /// <summary>The ViT blocks.</summary>
    public IReadOnlyList<BeitBlock> Blocks => blocks.ToArray();

    /// <inheritdoc/>
    public override Tensor[] forward(Tensor pixels) => forward(pixels, null);

    /// <summary>
    /// Pixels [B, 3, H, W] (H and W multiples of 32) → maps at strides 4, 8, 16, 32.
    /// <paramref name="trace"/>, when given, receives copies of the intermediate tensors under the
    /// names of the reference data (<c>spm.c1</c>…, <c>patch_embed</c>, <c>block.{j}.x</c>,
    /// <c>interaction.{i}.x</c> / <c>.c</c>, <c>out.{k}</c>); the caller disposes them.
    /// </summary>
    /// <exception cref="ArgumentException">The input's height or width is not a multiple of 32.</exception>
    public Tensor[] forward(Tensor pixels, IDictionary<string, Tensor>? trace)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        var (height, width) = (pixels.shape[2], pixels.shape[3]);
        if (height % VitAdapterConfig.SizeDivisor != 0 || width % VitAdapterConfig.SizeDivisor != 0)
            throw new ArgumentException($"A ViT-Adapter backbone needs an input whose height and width are multiples of {VitAdapterConfig.SizeDivisor} (pad it as mmdetection's Pad(size_divisor=32)); got {height}×{width}.", nameof(pixels));
        using var scope = NewDisposeScope();
        void Keep(string name, Tensor t)
        {
            if (trace is not null) trace[name] = t.detach().clone().DetachFromDisposeScope();
        }
        var batch = pixels.shape[0];
        var dim = _config.EmbedDim;
        var grid = AdapterGrid.Of(height, width);
        var (c1, c2, c3, c4) = spm.forward(pixels);
        Keep("spm.c1", c1);
        Keep("spm.c2", c2);
        Keep("spm.c3", c3);
        Keep("spm.c4", c4);
        var prior = cat(new[] { c2 + level_embed[0], c3 + level_embed[1], c4 + level_embed[2] }, 1);

        var x = patch_embed.forward(pixels);
        Keep("patch_embed", x);
        // Injectors: each ViT token samples the three prior levels around its own centre; extractors:
        // each prior token samples the ViT map around its centre.
        var injectorPoints = PixelDecoderEncoder.ReferencePoints(grid.VitLevel, x.dtype, x.device, levels: 3).expand(batch, -1, -1, -1);
        var extractorPoints = PixelDecoderEncoder.ReferencePoints(grid.PriorLevels, x.dtype, x.device, levels: 1).expand(batch, -1, -1, -1);
        var index = 0;
        Action<BeitBlock, Tensor>? afterBlock = trace is null ? null : (_, tokens) => Keep($"block.{index++}.x", tokens);
        for (var i = 0; i < interactions.Count; i++)
        {
            var range = _config.InteractionIndexes[i];
            var interactionBlocks = Enumerable.Range(range[0], range[1] - range[0] + 1).Select(j => blocks[j]);
            (x, prior) = interactions[i].forward(x, prior, interactionBlocks, grid, injectorPoints, extractorPoints, afterBlock);
            Keep($"interaction.{i}.x", x);
            Keep($"interaction.{i}.c", prior);
        }

        var counts = grid.PriorCounts;
        var levels = grid.PriorLevels;
        var parts = prior.split(counts, 1);
        Tensor Map(Tensor tokens, (long Height, long Width) size) => tokens.transpose(1, 2).reshape(batch, dim, size.Height, size.Width);
        var m2 = Map(parts[0], levels[0]);
        var m3 = Map(parts[1], levels[1]);
        var m4 = Map(parts[2], levels[2]);
        var m1 = up.forward(m2) + c1;

        var vit = Map(x, (grid.Height, grid.Width));
        Tensor Resized(Tensor like) => nn.functional.interpolate(vit, size: new[] { like.shape[2], like.shape[3] }, mode: InterpolationMode.Bilinear, align_corners: false);
        var outputs = new[]
        {
            norm1.forward(m1 + Resized(m1)),
            norm2.forward(m2 + Resized(m2)),
            norm3.forward(m3 + vit),
            norm4.forward(m4 + Resized(m4)),
        };
        for (var k = 0; k < outputs.Length; k++) Keep($"out.{k}", outputs[k]);
        return outputs.Select(t => t.MoveToOuterDisposeScope()).ToArray();
    }
}
