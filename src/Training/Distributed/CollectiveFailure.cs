namespace Microsoft.ML.Mask2Former.Training.Distributed;

/// <summary>
/// Tells apart the failures every rank of a data-parallel run raises together (after agreeing on
/// them in a collective call: a diverged step, a stop request, no readable image, mismatched
/// settings) from failures of one rank alone. A collective failure ends every rank normally; a
/// lone one aborts the job (<see cref="MpiWorld.Abort"/>), since the other ranks would otherwise
/// wait for it in their next collective call forever.
/// </summary>
internal static class CollectiveFailure
{
    private const string Key = "Mask2Former.CollectiveFailure";

    /// <summary>Marks <paramref name="e"/> as raised by every rank; returns it.</summary>
    public static T Mark<T>(T e) where T : Exception
    {
        e.Data[Key] = true;
        return e;
    }

    /// <summary>Whether <paramref name="e"/> was marked by <see cref="Mark"/>.</summary>
    public static bool IsMarked(Exception e) => e.Data[Key] is true;

    /// <summary>
    /// Runs <paramref name="body"/>; a failure of this rank alone is printed (with the rank) to
    /// standard error and aborts the job, so that no rank waits forever. Without a world (or a world
    /// of one) failures simply propagate.
    /// </summary>
    public static T RunOrAbort<T>(MpiWorld? world, Func<T> body)
    {
        if (world is null || world.Size == 1) return body();
        try
        {
            return body();
        }
        catch (Exception e) when (!IsMarked(e))
        {
            Console.Error.WriteLine($"m2f: rank {world.Rank} of {world.Size} failed; aborting the MPI job: {e.GetType().Name}: {e.Message}");
            Console.Error.WriteLine(e.StackTrace);
            Console.Error.Flush();
            world.Abort(1);
            throw; // not reached: MPI_Abort ends the process
        }
    }
}
