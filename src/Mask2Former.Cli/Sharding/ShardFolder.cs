namespace Mask2Former.Cli.Sharding;

/// <summary>
/// A shard's output folder, written whole or not at all: its files go into a temporary sibling
/// that replaces the folder at the end. A shard killed half-way leaves the previous complete
/// folder (or none) and a hidden temporary that the next run removes; a rerun replaces only its
/// own folder, never another shard's files.
/// </summary>
internal static class ShardFolder
{
    public static void Replace(string folder, Action<string> write)
    {
        var full = Path.GetFullPath(folder);
        var parent = Path.GetDirectoryName(full)!;
        var name = Path.GetFileName(full);
        Directory.CreateDirectory(parent);
        foreach (var leftover in Directory.EnumerateDirectories(parent, $".{name}.*"))
            Directory.Delete(leftover, recursive: true);
        var temp = Path.Combine(parent, $".{name}.tmp-{Guid.NewGuid():N}");
        Directory.CreateDirectory(temp);
        try
        {
            write(temp);
        }
        catch
        {
            Directory.Delete(temp, recursive: true);
            throw;
        }
        if (Directory.Exists(full))
        {
            var old = Path.Combine(parent, $".{name}.old-{Guid.NewGuid():N}");
            Directory.Move(full, old);
            Directory.Move(temp, full);
            Directory.Delete(old, recursive: true);
        }
        else
        {
            Directory.Move(temp, full);
        }
    }
}
