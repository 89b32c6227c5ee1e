namespace Mask2Former.Benchmarks;

/// <summary>Peak resident memory of this process (Linux <c>VmHWM</c>), resettable between benchmark cases.</summary>
internal static class PeakMemory
{
    /// <summary>Resets the high-water mark (writes 5 to <c>/proc/self/clear_refs</c>); no-op where unsupported.</summary>
    public static void Reset()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    /// <summary>VmHWM in bytes, or the managed view of the peak working set where /proc is absent.</summary>
    public static long ResidentBytes()
    {
        const string Status = "/proc/self/status";
        if (File.Exists(Status))
        {
            foreach (var line in File.ReadLines(Status))
            {
                if (!line.StartsWith("VmHWM:", StringComparison.Ordinal)) continue;
                var kb = line["VmHWM:".Length..].Trim().Split(' ')[0];
                return long.Parse(kb, System.Globalization.CultureInfo.InvariantCulture) * 1024;
            }
        }
        using var process = System.Diagnostics.Process.GetCurrentProcess();
        return process.PeakWorkingSet64;
    }
}
