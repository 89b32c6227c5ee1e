namespace Microsoft.ML.Mask2Former.Training.Modeling.VitAdapter;

/// <summary>
/// One interaction of the adapter: the injector feeds the prior into the ViT tokens, the
/// interaction's ViT blocks run, and the extractor feeds the ViT tokens back into the prior; the
/// last interaction has two extra extractors (<c>extra_extractors</c>).
/// </summary>
public sealed class InteractionBlock : nn.Module
{
    private readonly Injector injector;
    private readonly Extractor extractor;
    private readonly ModuleList<Extractor>? extra_extractors;

    /// <summary>Creates an interaction of <paramref name="config"/>; <paramref name="last"/> adds the extra extractors.</summary>
    public InteractionBlock(VitAdapterConfig config, bool last) : base(nameof(InteractionBlock))
    {
        injector = new Injector(config);
        // Upstream gives every extractor the backbone's full drop_path_rate.
        extractor = new Extractor(config, config.DropPathRate);
        if (last) extra_extractors = nn.ModuleList(new Extractor(config, config.DropPathRate), new Extractor(config, config.DropPathRate));
        RegisterComponents();
    }

    /// <summary>
    /// ViT tokens <paramref name="vit"/> and prior tokens <paramref name="prior"/> → both after this
    /// interaction; <paramref name="afterBlock"/> sees the ViT tokens after each block.
    /// </summary>
    internal (Tensor Vit, Tensor Prior) forward(Tensor vit, Tensor prior, IEnumerable<BeitBlock> blocks, AdapterGrid grid,
        Tensor injectorPoints, Tensor extractorPoints, Action<BeitBlock, Tensor>? afterBlock)
    {
        using var scope = NewDisposeScope();
        var x = injector.forward(vit, injectorPoints, prior, grid);
        foreach (var block in blocks)
        {
            x = block.forward(x, grid.Height, grid.Width);
            afterBlock?.Invoke(block, x);
        }
        var c = extractor.forward(prior, extractorPoints, x, grid);
        if (extra_extractors is not null)
            foreach (var extra in extra_extractors) c = extra.forward(c, extractorPoints, x, grid);
        return (x.MoveToOuterDisposeScope(), c.MoveToOuterDisposeScope());
    }
}
