namespace Microsoft.ML.Mask2Former.Training.Checkpoints;

/// <summary>
/// One tensor offered to <see cref="ModuleCheckpoint"/> by a checkpoint reader: the model's name
/// for it, the name it has in the file (for messages), its shape and stored type, and how to read
/// it (called only after every name and shape has been checked).
/// </summary>
internal sealed record CheckpointTensor(string Name, string SourceName, IReadOnlyList<long> Shape, SafeTensorsElementType ElementType, Func<TorchSharp.torch.Tensor> Read);
