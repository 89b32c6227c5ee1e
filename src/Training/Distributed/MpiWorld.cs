using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;

namespace Microsoft.ML.Mask2Former.Training.Distributed;

/// <summary>
/// The processes of an MPI job (<c>MPI_COMM_WORLD</c>) started by Open MPI's <c>mpirun</c>, for
/// data-parallel training: every rank runs the same program, passes its world to
/// <see cref="Mask2FormerTrainer.DataParallel"/>, and the ranks train one model together (see the
/// README's section on data-parallel training). Open MPI 4.x and 5.x (<c>libmpi.so.40</c>) are
/// supported; a process started by another launcher (MPICH or Intel MPI's Hydra, MS-MPI, Slurm's
/// <c>srun</c>) is refused with a message that says so. A process not started by a launcher never
/// loads MPI, so single-process use needs nothing installed.
/// </summary>
/// <example>
/// <code>
/// using var world = MpiWorld.Initialize();          // null when not started by mpirun
/// var trainer = new Mask2FormerTrainer(options) { DataParallel = world };
/// using var result = trainer.Fit("data/");           // rank 0 writes the output folder
/// </code>
/// </example>
/// <remarks>
/// MPI can be initialised once per process: <see cref="Initialize"/> returns the same world until it
/// is disposed, and after <see cref="Dispose"/> (which calls <c>MPI_Finalize</c>) it cannot start again.
/// Calls into MPI are serialised by a lock (the library is initialised with <c>MPI_THREAD_SERIALIZED</c>).
/// </remarks>
public sealed unsafe class MpiWorld : IDisposable
{
    private const long Chunk = 1L << 26;
    private static readonly Lock Gate = new();
    private static MpiWorld? _current;
    private static bool _finalized;

    private readonly OpenMpiLibrary _mpi;
    private readonly Lock _calls = new();
    private bool _disposed;

    private MpiWorld(OpenMpiLibrary mpi, int rank, int size, string version)
    {
        _mpi = mpi;
        Rank = rank;
        Size = size;
        LibraryVersion = version;
    }

    /// <summary>This process's rank, 0 … <see cref="Size"/> − 1.</summary>
    public int Rank { get; }

    /// <summary>The number of processes in the job.</summary>
    public int Size { get; }

    /// <summary>Whether this is rank 0, the one that writes the output folder.</summary>
    public bool IsRoot => Rank == 0;

    /// <summary>The first line of <c>MPI_Get_library_version</c>, e.g. "Open MPI v4.1.4, …".</summary>
    public string LibraryVersion { get; }

    /// <summary>
    /// Joins the MPI job this process was started in: loads Open MPI's library and calls
    /// <c>MPI_Init_thread</c>. Returns <see langword="null"/> when no MPI launcher started the
    /// process (nothing is loaded then).
    /// </summary>
    /// <returns>The world, or <see langword="null"/> for a plain process.</returns>
    /// <exception cref="NotSupportedException">Another MPI implementation's launcher started the process, or Open MPI's library cannot be loaded.</exception>
    /// <exception cref="InvalidOperationException">MPI was already finalised in this process.</exception>
    public static MpiWorld? Initialize()
    {
        var (launcher, evidence) = MpiLaunch.Detect();
        if (launcher == MpiLauncher.None) return null;
        if (launcher == MpiLauncher.Other)
        {
            throw new NotSupportedException(
                $"this process was started by an MPI launcher other than Open MPI's ({evidence}: MPICH or Intel MPI's Hydra, MS-MPI or Slurm's srun); " +
                "only Open MPI 4.x/5.x is supported: start the job with Open MPI's mpirun (Debian/Ubuntu: apt-get install openmpi-bin)");
        }
        lock (Gate)
        {
            if (_current is { } current) return current;
            if (_finalized) throw new InvalidOperationException("MPI was finalised in this process (an MpiWorld was disposed); it cannot be initialised again");
            var mpi = OpenMpiLibrary.Load(evidence!);
            var version = ReadVersion(mpi);
            if (!version.StartsWith("Open MPI", StringComparison.Ordinal))
                throw new NotSupportedException($"'{mpi.Name}' is '{version}', not Open MPI; only Open MPI 4.x/5.x is supported");
            int provided;
            OpenMpiLibrary.Check(mpi.InitThread(null, 0, OpenMpiLibrary.ThreadSerialized, &provided), "MPI_Init_thread");
            if (provided < OpenMpiLibrary.ThreadSerialized)
                throw new NotSupportedException($"{version} grants thread level {provided}; training needs MPI_THREAD_SERIALIZED (2)");
            int rank, size;
            OpenMpiLibrary.Check(mpi.CommRank(mpi.CommWorld, &rank), "MPI_Comm_rank");
            OpenMpiLibrary.Check(mpi.CommSize(mpi.CommWorld, &size), "MPI_Comm_size");
            _current = new MpiWorld(mpi, rank, size, version);
            return _current;
        }
    }

    private static string ReadVersion(OpenMpiLibrary mpi)
    {
        // MPI_MAX_LIBRARY_VERSION_STRING is 256 in Open MPI; MPI-3 allows this call before MPI_Init.
        var buffer = stackalloc byte[8192];
        int length;
        OpenMpiLibrary.Check(mpi.GetLibraryVersion(buffer, &length), "MPI_Get_library_version");
        var text = Marshal.PtrToStringUTF8((nint)buffer, Math.Clamp(length, 0, 8191)) ?? "";
        return text.Split('\n')[0].Trim().TrimEnd(',');
    }

    /// <summary>Sums <paramref name="values"/> element-wise over all ranks, in place (<c>MPI_Allreduce</c>, <c>MPI_SUM</c>).</summary>
    internal void SumInPlace(Span<double> values)
    {
        fixed (double* p = values) Reduce((nint)p, values.Length, _mpi.Double, sizeof(double));
    }

    /// <summary>Sums <paramref name="values"/> element-wise over all ranks, in place.</summary>
    internal void SumInPlace(Span<float> values)
    {
        fixed (float* p = values) Reduce((nint)p, values.Length, _mpi.Float, sizeof(float));
    }

    /// <summary>Sums <paramref name="count"/> floats at <paramref name="data"/> (native memory, e.g. a CPU tensor's) over all ranks, in place.</summary>
    internal void SumInPlace(nint data, long count) => Reduce(data, count, _mpi.Float, sizeof(float));

    private void Reduce(nint data, long count, nint type, int size)
    {
        lock (_calls)
        {
            ThrowIfDisposed();
            for (long done = 0; done < count; done += Chunk)
            {
                var n = (int)Math.Min(Chunk, count - done);
                OpenMpiLibrary.Check(_mpi.Allreduce(OpenMpiLibrary.InPlace, data + (nint)(done * size), n, type, _mpi.Sum, _mpi.CommWorld), "MPI_Allreduce");
            }
        }
    }

    /// <summary>Copies <paramref name="bytes"/> bytes at <paramref name="data"/> from rank <paramref name="root"/> to every rank (<c>MPI_Bcast</c>).</summary>
    internal void Broadcast(nint data, long bytes, int root = 0)
    {
        lock (_calls)
        {
            ThrowIfDisposed();
            for (long done = 0; done < bytes; done += Chunk)
            {
                var n = (int)Math.Min(Chunk, bytes - done);
                OpenMpiLibrary.Check(_mpi.Bcast(data + (nint)done, n, _mpi.Byte, root, _mpi.CommWorld), "MPI_Bcast");
            }
        }
    }

    /// <summary>Waits until every rank has called it (<c>MPI_Barrier</c>).</summary>
    internal void Barrier()
    {
        lock (_calls)
        {
            ThrowIfDisposed();
            OpenMpiLibrary.Check(_mpi.Barrier(_mpi.CommWorld), "MPI_Barrier");
        }
    }

    /// <summary>
    /// Ends every process of the job with <paramref name="code"/> (<c>MPI_Abort</c>): for a failure
    /// on this rank that the others cannot know about, which would otherwise leave them waiting in
    /// their next collective call forever. Does not return.
    /// </summary>
    [DoesNotReturn]
    internal void Abort(int code)
    {
        // No lock: another thread may be blocked inside a collective call.
        _mpi.Abort(_mpi.CommWorld, code);
        Environment.Exit(code);
        throw new InvalidOperationException("unreachable");
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    /// <summary>Leaves the job (<c>MPI_Finalize</c>); every rank must call it. MPI cannot be initialised again in this process.</summary>
    public void Dispose()
    {
        lock (Gate)
        {
            lock (_calls)
            {
                if (_disposed) return;
                _disposed = true;
                int finalized;
                if (_mpi.MpiFinalized(&finalized) == OpenMpiLibrary.Success && finalized == 0) _mpi.MpiFinalize();
                _finalized = true;
                _current = null;
            }
        }
    }
}
