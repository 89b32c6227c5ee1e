using Microsoft.ML.Transforms;

namespace Microsoft.ML.Mask2Former.Scoring;

// ML.NET finds a saved custom mapping again by its contract name, through one attributed factory
// class per contract: hence five classes of the same shape, each naming its step's function in
// ScoringMappings.

/// <summary>Reloads the scoring pipeline's image-decoding step (registered for <c>mlContext.Model.Load</c>).</summary>
[CustomMappingFactoryAttribute(ScoringMappings.DecodeContract)]
internal sealed class DecodeImageMappingFactory : CustomMappingFactory<DecodeRow, DecodedRow>
{
    /// <inheritdoc/>
    public override Action<DecodeRow, DecodedRow> GetMapping() => ScoringMappings.Decode;
}

/// <summary>Reloads the scoring pipeline's letterbox step (registered for <c>mlContext.Model.Load</c>).</summary>
[CustomMappingFactoryAttribute(ScoringMappings.LetterboxContract)]
internal sealed class LetterboxMappingFactory : CustomMappingFactory<LetterboxRow, PixelValuesRow>
{
    /// <inheritdoc/>
    public override Action<LetterboxRow, PixelValuesRow> GetMapping() => ScoringMappings.Letterbox;
}

/// <summary>Reloads the panoptic post-processing step (registered for <c>mlContext.Model.Load</c>).</summary>
[CustomMappingFactoryAttribute(ScoringMappings.PanopticContract)]
internal sealed class PanopticMappingFactory : CustomMappingFactory<LogitsRow, PanopticRow>
{
    /// <inheritdoc/>
    public override Action<LogitsRow, PanopticRow> GetMapping() => ScoringMappings.Panoptic;
}

/// <summary>Reloads the instance post-processing step (registered for <c>mlContext.Model.Load</c>).</summary>
[CustomMappingFactoryAttribute(ScoringMappings.InstancesContract)]
internal sealed class InstancesMappingFactory : CustomMappingFactory<LogitsRow, InstancesRow>
{
    /// <inheritdoc/>
    public override Action<LogitsRow, InstancesRow> GetMapping() => ScoringMappings.Instances;
}

/// <summary>Reloads the semantic post-processing step (registered for <c>mlContext.Model.Load</c>).</summary>
[CustomMappingFactoryAttribute(ScoringMappings.SemanticContract)]
internal sealed class SemanticMappingFactory : CustomMappingFactory<LogitsRow, SemanticRow>
{
    /// <inheritdoc/>
    public override Action<LogitsRow, SemanticRow> GetMapping() => ScoringMappings.Semantic;
}
