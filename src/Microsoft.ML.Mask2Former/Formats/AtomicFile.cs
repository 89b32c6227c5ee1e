namespace Microsoft.ML.Mask2Former.Formats;

/// <summary>
/// Writes a file through a temporary sibling and a rename, so a reader (or a crash) never sees a
/// half-written output and the previous version survives a failed write.
/// </summary>
public static partial class AtomicFile
{
    /// <summary>Writes <paramref name="path"/> by calling <paramref name="write"/> on a temporary file, flushing it to disk, then renaming it over the target.</summary>
    public static void Write(string path, Action<Stream> write)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(write);
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(dir);
        var temp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            try { File.Delete(temp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
    }

    /// <summary>
    /// Deletes the temporary siblings that writes of <paramref name="path"/> left behind when their
    /// process was killed before the rename (a write that fails with an exception removes its own).
    /// Call it only while no other process writes <paramref name="path"/>.
    /// </summary>
    /// <param name="path">The target file of earlier writes; it need not exist.</param>
    /// <returns>The number of temporary files deleted.</returns>
    public static int DeleteLeftovers(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(dir)) return 0;
        var deleted = 0;
        foreach (var temp in Directory.EnumerateFiles(dir, $".{Path.GetFileName(full)}.*.tmp"))
        {
            if (TryDelete(temp)) deleted++;
        }
        return deleted;
    }

    /// <summary>
    /// Deletes the temporary files that writes into <paramref name="folder"/> (not its sub-folders)
    /// left behind when their process was killed: every <c>.&lt;name&gt;.&lt;pid&gt;.&lt;guid&gt;.tmp</c>.
    /// Call it only while no other process writes into the folder.
    /// </summary>
    /// <param name="folder">A folder of earlier outputs; it need not exist.</param>
    /// <returns>The number of temporary files deleted.</returns>
    public static int DeleteLeftoversIn(string folder)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        if (!Directory.Exists(folder)) return 0;
        var deleted = 0;
        foreach (var temp in Directory.EnumerateFiles(folder, ".*.tmp"))
        {
            if (!TemporaryName().IsMatch(Path.GetFileName(temp))) continue;
            if (TryDelete(temp)) deleted++;
        }
        return deleted;
    }

    /// <summary>Deletes a file; false when another process holds or already removed it.</summary>
    private static bool TryDelete(string path)
    {
        try
        {
            File.Delete(path);
            return true;
        }
        catch (IOException) { return false; }
        catch (UnauthorizedAccessException) { return false; }
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^\..+\.[0-9]+\.[0-9a-f]{32}\.tmp$")]
    private static partial System.Text.RegularExpressions.Regex TemporaryName();

    /// <summary>Writes text (UTF-8, no BOM) atomically.</summary>
    public static void WriteAllText(string path, string text) =>
        Write(path, s => { var bytes = new System.Text.UTF8Encoding(false).GetBytes(text); s.Write(bytes); });
}
