using System.Runtime.InteropServices;

namespace Microsoft.ML.Mask2Former.Training.Distributed;

/// <summary>
/// Adds up the gradients of all ranks after each backward pass (Horovod's pattern), through one
/// flat float32 buffer per step, together with three numbers every rank must agree on: how many
/// ranks found a non-finite output or loss, how many were asked to stop, and a check that every
/// rank has gradients for the same parameters. Each rank's loss is its share of the combined
/// batch's loss (<see cref="Losses.BatchShare"/>), so the sum is the combined batch's gradient and
/// every rank then takes the same optimizer step. The same buffer broadcasts rank 0's weights at
/// the start, so every rank begins from identical weights whatever its machine.
/// </summary>
internal sealed unsafe class GradientSum : IDisposable
{
    // Tail: non-finite ranks, stopping ranks, Σ parameters with a gradient, Σ its square.
    private const int Tail = 4;

    private readonly MpiWorld _world;
    private readonly Parameter[] _parameters;
    private readonly long[] _offsets;
    private readonly long _elements;
    private readonly Tensor _flat;

    public GradientSum(MpiWorld world, IReadOnlyList<Parameter> parameters)
    {
        _world = world;
        _parameters = parameters.ToArray();
        _offsets = new long[_parameters.Length];
        long offset = 0;
        for (var i = 0; i < _parameters.Length; i++)
        {
            _offsets[i] = offset;
            offset += _parameters[i].numel();
        }
        _elements = offset;
        _flat = zeros(offset + Tail, ScalarType.Float32);
        if ((offset + Tail) * sizeof(float) > int.MaxValue)
            throw new NotSupportedException($"data-parallel training supports up to {(int.MaxValue / sizeof(float)) - Tail:N0} parameters; this network has {offset:N0}");
    }

    /// <summary>What the ranks agreed on in a step.</summary>
    public readonly record struct Agreement(int NonFiniteRanks, int StoppingRanks);

    /// <summary>
    /// Replaces every parameter's gradient by the sum over all ranks (unless some rank had a
    /// non-finite output or loss: then gradients are left alone, the step will not be taken).
    /// </summary>
    /// <param name="nonFinite">Whether this rank's output or loss was not finite (it then did no backward pass).</param>
    /// <param name="stop">Whether this rank was asked to stop.</param>
    public Agreement Sum(bool nonFinite, bool stop)
    {
        using var scope = NewDisposeScope();
        var present = 0;
        for (var i = 0; i < _parameters.Length; i++)
        {
            var slot = _flat.narrow(0, _offsets[i], _parameters[i].numel());
            if (!nonFinite && _parameters[i].grad is { } grad)
            {
                slot.copy_(grad.reshape(-1));
                present++;
            }
            else
            {
                slot.zero_();
            }
        }
        var tail = Floats()[(int)_elements..];
        tail[0] = nonFinite ? 1 : 0;
        tail[1] = stop ? 1 : 0;
        tail[2] = present;
        tail[3] = (float)present * present;
        _world.SumInPlace(Address(), _elements + Tail);

        tail = Floats()[(int)_elements..];
        var agreement = new Agreement((int)tail[0], (int)tail[1]);
        if (agreement.NonFiniteRanks > 0) return agreement;
        // Equal counts on every rank ⇔ N·Σc² = (Σc)²; every rank computes the same verdict.
        if ((double)_world.Size * tail[3] != (double)tail[2] * tail[2])
            throw CollectiveFailure.Mark(new InvalidOperationException(
                $"the ranks have gradients for different numbers of parameters (this rank {present} of {_parameters.Length}); every rank must run the same network"));
        for (var i = 0; i < _parameters.Length; i++)
        {
            if (_parameters[i].grad is { } grad)
                grad.copy_(_flat.narrow(0, _offsets[i], _parameters[i].numel()).view_as(grad));
        }
        return agreement;
    }

    /// <summary>Sets every parameter on every rank to rank 0's value.</summary>
    public void BroadcastFromRoot()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        for (var i = 0; i < _parameters.Length; i++) _flat.narrow(0, _offsets[i], _parameters[i].numel()).copy_(_parameters[i].detach().reshape(-1));
        _world.Broadcast(Address(), _elements * sizeof(float));
        for (var i = 0; i < _parameters.Length; i++)
            _parameters[i].detach().copy_(_flat.narrow(0, _offsets[i], _parameters[i].numel()).view_as(_parameters[i]));
    }

    /// <summary>Sums the loss terms of every rank's share: the combined batch's terms.</summary>
    public IReadOnlyDictionary<string, double> SumLosses(IReadOnlyDictionary<string, double> values)
    {
        // Summed in name order (the same on every rank), returned in the order computed.
        var keys = values.Keys.Order(StringComparer.Ordinal).ToArray();
        var sums = keys.Select(k => values[k]).ToArray();
        _world.SumInPlace(sums);
        var summed = new Dictionary<string, double>(keys.Length, StringComparer.Ordinal);
        for (var i = 0; i < keys.Length; i++) summed[keys[i]] = sums[i];
        return values.Keys.ToDictionary(k => k, k => summed[k], StringComparer.Ordinal);
    }

    private Span<float> Floats() => MemoryMarshal.Cast<byte, float>(_flat.bytes);

    // The buffer is native memory owned by the tensor: its address stays valid while the tensor lives.
    private nint Address()
    {
        fixed (byte* p = _flat.bytes) return (nint)p;
    }

    public void Dispose() => _flat.Dispose();
}
