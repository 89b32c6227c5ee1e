using System.Runtime.InteropServices;

namespace Microsoft.ML.Mask2Former.Training.Distributed;

/// <summary>
/// The few entry points of Open MPI's <c>libmpi</c> that data-parallel training needs, bound at
/// run time so that a process that never runs under <c>mpirun</c> never needs MPI installed.
/// Open MPI's handles (<c>MPI_COMM_WORLD</c>, <c>MPI_FLOAT</c>, <c>MPI_SUM</c>, …) are the
/// addresses of global objects in the library (<c>ompi_mpi_comm_world</c>, …), not the integer
/// constants MPICH uses, so they are resolved like functions; <c>MPI_IN_PLACE</c> is <c>(void*)1</c>.
/// That is Open MPI's ABI (4.x and 5.x, soname <c>libmpi.so.40</c>); other implementations are refused.
/// </summary>
internal sealed unsafe class OpenMpiLibrary
{
    /// <summary>The library names tried, in order (Linux soname, then macOS).</summary>
    private static readonly string[] Names = ["libmpi.so.40", "libmpi.40.dylib"];

    public const int Success = 0;
    public const int ThreadSerialized = 2;
    public static readonly nint InPlace = 1;

    private OpenMpiLibrary(nint handle, string name)
    {
        Name = name;
        InitThread = (delegate* unmanaged<int*, nint, int, int*, int>)Export(handle, name, "MPI_Init_thread");
        MpiFinalize = (delegate* unmanaged<int>)Export(handle, name, "MPI_Finalize");
        MpiFinalized = (delegate* unmanaged<int*, int>)Export(handle, name, "MPI_Finalized");
        CommRank = (delegate* unmanaged<nint, int*, int>)Export(handle, name, "MPI_Comm_rank");
        CommSize = (delegate* unmanaged<nint, int*, int>)Export(handle, name, "MPI_Comm_size");
        Allreduce = (delegate* unmanaged<nint, nint, int, nint, nint, nint, int>)Export(handle, name, "MPI_Allreduce");
        Bcast = (delegate* unmanaged<nint, int, nint, int, nint, int>)Export(handle, name, "MPI_Bcast");
        Barrier = (delegate* unmanaged<nint, int>)Export(handle, name, "MPI_Barrier");
        Abort = (delegate* unmanaged<nint, int, int>)Export(handle, name, "MPI_Abort");
        GetLibraryVersion = (delegate* unmanaged<byte*, int*, int>)Export(handle, name, "MPI_Get_library_version");
        CommWorld = Export(handle, name, "ompi_mpi_comm_world");
        Float = Export(handle, name, "ompi_mpi_float");
        Double = Export(handle, name, "ompi_mpi_double");
        Byte = Export(handle, name, "ompi_mpi_byte");
        Sum = Export(handle, name, "ompi_mpi_op_sum");
    }

    /// <summary>The file name the library was loaded by.</summary>
    public string Name { get; }

    public delegate* unmanaged<int*, nint, int, int*, int> InitThread { get; }
    public delegate* unmanaged<int> MpiFinalize { get; }
    public delegate* unmanaged<int*, int> MpiFinalized { get; }
    public delegate* unmanaged<nint, int*, int> CommRank { get; }
    public delegate* unmanaged<nint, int*, int> CommSize { get; }
    public delegate* unmanaged<nint, nint, int, nint, nint, nint, int> Allreduce { get; }
    public delegate* unmanaged<nint, int, nint, int, nint, int> Bcast { get; }
    public delegate* unmanaged<nint, int> Barrier { get; }
    public delegate* unmanaged<nint, int, int> Abort { get; }
    public delegate* unmanaged<byte*, int*, int> GetLibraryVersion { get; }

    /// <summary><c>MPI_COMM_WORLD</c>.</summary>
    public nint CommWorld { get; }

    /// <summary><c>MPI_FLOAT</c>.</summary>
    public nint Float { get; }

    /// <summary><c>MPI_DOUBLE</c>.</summary>
    public nint Double { get; }

    /// <summary><c>MPI_BYTE</c>.</summary>
    public nint Byte { get; }

    /// <summary><c>MPI_SUM</c>.</summary>
    public nint Sum { get; }

    /// <summary>Loads Open MPI's library.</summary>
    /// <param name="evidence">What showed the process runs under Open MPI (for the error message).</param>
    /// <exception cref="NotSupportedException">The library cannot be loaded or lacks an entry point.</exception>
    public static OpenMpiLibrary Load(string evidence)
    {
        var errors = new List<string>();
        foreach (var name in Names)
        {
            try
            {
                return new OpenMpiLibrary(NativeLibrary.Load(name), name);
            }
            catch (DllNotFoundException e)
            {
                errors.Add(e.Message);
            }
        }
        throw new NotSupportedException(
            $"this process was started by Open MPI's mpirun ({evidence}), but Open MPI's library ({string.Join(" or ", Names)}) cannot be loaded: " +
            $"install the Open MPI runtime on every machine of the job (Debian/Ubuntu: apt-get install openmpi-bin). {string.Join(" ", errors)}");
    }

    private static nint Export(nint handle, string library, string symbol)
    {
        if (NativeLibrary.TryGetExport(handle, symbol, out var address)) return address;
        throw new NotSupportedException($"'{library}' has no '{symbol}': it is not Open MPI's libmpi (only Open MPI 4.x and 5.x are supported)");
    }

    /// <summary>Throws unless an MPI call succeeded (with the default error handler a failing call aborts the job before returning).</summary>
    public static void Check(int code, string call)
    {
        if (code != Success) throw new InvalidOperationException($"{call} failed with MPI error code {code}");
    }
}
