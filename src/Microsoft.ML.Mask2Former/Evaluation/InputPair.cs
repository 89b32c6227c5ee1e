using System.Runtime.ExceptionServices;

namespace Microsoft.ML.Mask2Former.Evaluation;

/// <summary>
/// Reads an evaluation's two independent inputs (ground truth and predictions): at the same time
/// when more than one thread is allowed, else one after the other. Either way a failure of the
/// first is the one reported, as a serial read would report it.
/// </summary>
internal static class InputPair
{
    public static (TFirst First, TSecond Second) Read<TFirst, TSecond>(int threads, Func<TFirst> first, Func<TSecond> second)
    {
        if (threads < 2) return (first(), second());
        var firstRead = Task.Run(first);
        TSecond? secondValue = default;
        ExceptionDispatchInfo? secondError = null;
        try
        {
            secondValue = second();
        }
        catch (Exception e)
        {
            secondError = ExceptionDispatchInfo.Capture(e);
        }
        var firstValue = firstRead.GetAwaiter().GetResult();
        secondError?.Throw();
        return (firstValue, secondValue!);
    }
}
