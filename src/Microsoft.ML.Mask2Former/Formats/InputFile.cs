namespace Microsoft.ML.Mask2Former.Formats;

/// <summary>
/// The check every reader makes before it opens a file: the path must name an existing, non-empty
/// regular file. Opening a FIFO blocks until some other process writes to it, and a device such as
/// <c>/dev/zero</c> never ends; both report a size of 0, as an empty file does, and no input of
/// this library is valid empty, so one size test refuses all three before anything is opened.
/// </summary>
internal static class InputFile
{
    /// <summary>Returns the size of <paramref name="path"/>, a regular non-empty file.</summary>
    /// <param name="path">The file.</param>
    /// <param name="what">What the file should be, for messages ("the ONNX model", "JSON file").</param>
    /// <param name="imageId">The image the file belongs to, if any.</param>
    /// <exception cref="FileNotFoundException">Nothing exists at <paramref name="path"/>.</exception>
    /// <exception cref="DataFormatException">The path is a folder, an empty file, a FIFO or a device.</exception>
    public static long RequireRegular(string path, string what, string? imageId = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var info = new FileInfo(path);
        if (!info.Exists)
        {
            if (Directory.Exists(path)) throw new DataFormatException($"{what} is a folder, not a file", path, imageId);
            throw new FileNotFoundException($"{what} not found: '{path}'", path);
        }
        if (info.Length == 0)
            throw new DataFormatException($"{what} is empty, or not a regular file (a FIFO, socket or device)", path, imageId);
        return info.Length;
    }
}
