using TorchSharp;

namespace Microsoft.ML.Mask2Former.Training;

/// <summary>
/// The libtorch CPU generator state that <c>get_rng_state</c> returns and a checkpoint stores,
/// checked as libtorch's <c>CPUGeneratorImpl::set_state</c> checks it, before it is handed over:
/// libtorch reports a bad state with a C++ exception that TorchSharp 0.107 does not catch, and the
/// process aborts. The layout is libtorch's <c>CPUGeneratorImplState</c>: the legacy state
/// (initial seed u64, <c>left</c> i32, <c>seeded</c> i32, <c>next</c> u64, 624 state words of u64,
/// three doubles and an int for the cached normal sample) then a float and a bool, 5056 bytes.
/// </summary>
internal static class RngState
{
    private const int KnownLength = 5056;
    private const int MersenneStateWords = 624;

    /// <summary>Refuses a state libtorch would refuse (by aborting the process).</summary>
    /// <exception cref="DataFormatException">The state has another length than this libtorch's, or a Mersenne Twister position out of range.</exception>
    public static void Check(byte[] state, string path)
    {
        int expected;
        using (var current = torch.random.get_rng_state()) expected = (int)current.numel();
        if (state.Length != expected)
            throw new DataFormatException($"the random-generator state has {state.Length} bytes; the CPU generator of this libtorch keeps {expected}: the file is truncated, damaged or from another libtorch", path);
        // Another layout than the one known here: its length is all that can be checked.
        if (expected != KnownLength) return;
        var left = BitConverter.ToInt32(state, 8);
        var seeded = BitConverter.ToInt32(state, 12);
        var next = (uint)BitConverter.ToUInt64(state, 16);
        if (seeded == 0 || left is < 1 or > MersenneStateWords || next > MersenneStateWords)
            throw new DataFormatException($"the random-generator state is damaged: Mersenne Twister position left = {left}, next = {next}, seeded = {seeded} (libtorch needs seeded, 1 ≤ left ≤ 624, next ≤ 624)", path);
    }
}
