namespace Microsoft.ML.Mask2Former.Training.Distributed;

/// <summary>
/// Which MPI launcher, if any, started this process, read from the variables launchers set in
/// each rank's environment. Open MPI's <c>mpirun</c> sets <c>OMPI_COMM_WORLD_SIZE</c> and
/// <c>OMPI_COMM_WORLD_RANK</c>; MPICH's and Intel MPI's Hydra, MS-MPI and Slurm's <c>srun</c>
/// set <c>PMI_*</c> or <c>PMIX_*</c> variables instead.
/// </summary>
internal static class MpiLaunch
{
    public const string OpenMpiSize = "OMPI_COMM_WORLD_SIZE";
    public const string OpenMpiRank = "OMPI_COMM_WORLD_RANK";

    /// <summary>Variables of launchers other than Open MPI's (checked only when Open MPI's are absent).</summary>
    private static readonly string[] OtherLaunchers = ["PMI_SIZE", "PMI_RANK", "PMIX_RANK", "MPI_LOCALNRANKS"];

    /// <summary>The launcher that started this process.</summary>
    /// <param name="variable">Reads one environment variable (tests pass their own).</param>
    /// <returns><see cref="MpiLauncher.None"/>, <see cref="MpiLauncher.OpenMpi"/>, or <see cref="MpiLauncher.Other"/> with the variable that gave it away.</returns>
    public static (MpiLauncher Launcher, string? Evidence) Detect(Func<string, string?>? variable = null)
    {
        variable ??= Environment.GetEnvironmentVariable;
        if (variable(OpenMpiSize) is { Length: > 0 } size) return (MpiLauncher.OpenMpi, $"{OpenMpiSize}={size}");
        foreach (var name in OtherLaunchers)
            if (variable(name) is { Length: > 0 } value) return (MpiLauncher.Other, $"{name}={value}");
        return (MpiLauncher.None, null);
    }
}

/// <summary>The kinds of launcher <see cref="MpiLaunch.Detect"/> tells apart.</summary>
internal enum MpiLauncher
{
    /// <summary>A plain process.</summary>
    None,

    /// <summary>Open MPI's <c>mpirun</c> / <c>mpiexec</c> (4.x or 5.x).</summary>
    OpenMpi,

    /// <summary>Another launcher (MPICH or Intel MPI Hydra, MS-MPI, Slurm <c>srun</c>): not supported.</summary>
    Other,
}
