namespace Microsoft.ML.Mask2Former.Scoring;

/// <summary>
/// The small ONNX model a scoring pipeline generates to carry its settings: it takes the
/// <c>m2f.Size</c> column (so ML.NET has an input to feed) and emits the settings as the constant
/// outputs <c>m2f.Config</c> and <c>m2f.Labels</c>. <c>ApplyOnnxModel</c> embeds it in the saved
/// model like any ONNX model, which is what makes the settings survive Save/Load.
/// </summary>
internal static class SettingsModel
{
    public static byte[] Create(ScoringSettings settings, string task)
    {
        var config = settings.ToConfig();
        var labels = settings.ToLabels();
        return new OnnxProtoWriter()
            .Input(ScoringColumns.Size, OnnxProtoWriter.Double, 1, 2)
            .ConstantOutput(ScoringColumns.Config, [1, config.Length], config)
            .ConstantOutput(ScoringColumns.Labels, [1, labels.Length], labels)
            .Metadata("m2f.task", task)
            .Metadata("m2f.labels", JsonSerializer.Serialize(settings.Labels.Select(l => new { id = l.Id, name = l.Name, isthing = l.IsThing ? 1 : 0 })))
            .ToArray("m2f_settings");
    }
}
