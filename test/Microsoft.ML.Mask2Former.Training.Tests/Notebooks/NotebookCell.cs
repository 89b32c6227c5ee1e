namespace Microsoft.ML.Mask2Former.Training.Tests.Notebooks;

/// <summary>One C# code cell of a .NET Interactive notebook, with its index among all cells.</summary>
internal sealed record NotebookCell(int Index, string Code);
