using System.Collections.Concurrent;

namespace Microsoft.ML.Mask2Former.Scoring;

/// <summary>
/// Scores single rows from many threads with one fitted model (a scoring pipeline from
/// <c>SegmentPanoptic</c>, <c>SegmentInstances</c> or <c>SegmentSemantic</c>, or any ML.NET model):
/// a pool of <see cref="PredictionEngine{TSrc, TDst}"/>, one per concurrent caller, created on
/// demand and reused. <see cref="Predict"/> is thread-safe.
/// </summary>
/// <remarks>
/// <para>
/// A <c>PredictionEngine</c> serves one thread at a time, so parallel scoring needs one engine per
/// thread. ML.NET 5's <c>mlContext.Model.CreatePredictionEngine(model)</c> makes the engine own the
/// model: disposing the engine disposes the model, including the ONNX Runtime sessions every other
/// engine of that model is still running, which ends the process in native code (double free /
/// invalid pointer), not with an exception. The pool's engines do not own the model
/// (<see cref="PredictionEngineOptions.OwnsTransformer"/> = <see langword="false"/>); code that keeps
/// its own engine per thread should create them the same way (<see cref="CreateEngine"/>).
/// </para>
/// <para>
/// <see cref="Dispose"/> disposes the pooled engines (an engine in use is disposed when its call
/// returns) and, only when the pool was created with <c>ownsModel</c>, the model, after the last
/// call in flight has returned.
/// </para>
/// </remarks>
/// <typeparam name="TSrc">The input row type (for example a class with the image path).</typeparam>
/// <typeparam name="TDst">The output row type (properties named like the output columns).</typeparam>
public sealed class SegmentationEnginePool<TSrc, TDst> : IDisposable
    where TSrc : class
    where TDst : class, new()
{
    private readonly MLContext _mlContext;
    private readonly ITransformer _model;
    private readonly bool _ownsModel;
    private readonly ConcurrentBag<PredictionEngine<TSrc, TDst>> _idle = [];
    private readonly object _gate = new();
    private int _inUse;
    private bool _disposed;

    /// <summary>Creates an empty pool; engines are made on the first calls.</summary>
    /// <param name="mlContext">The context engines are created in.</param>
    /// <param name="model">The fitted (or loaded) model.</param>
    /// <param name="ownsModel">Whether <see cref="Dispose"/> also disposes <paramref name="model"/>. Default <see langword="false"/>.</param>
    public SegmentationEnginePool(MLContext mlContext, ITransformer model, bool ownsModel = false)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        ArgumentNullException.ThrowIfNull(model);
        _mlContext = mlContext;
        _model = model;
        _ownsModel = ownsModel;
    }

    /// <summary>
    /// An engine that does not own <paramref name="model"/>: disposing it leaves the model, and the
    /// other engines running it, intact. For callers that keep one engine per thread themselves.
    /// </summary>
    public static PredictionEngine<TSrc, TDst> CreateEngine(MLContext mlContext, ITransformer model)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        ArgumentNullException.ThrowIfNull(model);
        return mlContext.Model.CreatePredictionEngine<TSrc, TDst>(model, new PredictionEngineOptions { OwnsTransformer = false });
    }

    /// <summary>Scores one row on an engine no other thread is using.</summary>
    /// <exception cref="ObjectDisposedException">The pool was disposed.</exception>
    public TDst Predict(TSrc example)
    {
        ArgumentNullException.ThrowIfNull(example);
        var engine = Rent();
        try
        {
            return engine.Predict(example);
        }
        finally
        {
            Return(engine);
        }
    }

    /// <summary>Disposes the idle engines now and the busy ones as they come back; the model only with <c>ownsModel</c>.</summary>
    public void Dispose()
    {
        bool disposeModel;
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            disposeModel = _ownsModel && _inUse == 0;
        }
        while (_idle.TryTake(out var engine)) engine.Dispose();
        if (disposeModel) (_model as IDisposable)?.Dispose();
    }

    private PredictionEngine<TSrc, TDst> Rent()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _inUse++;
        }
        if (_idle.TryTake(out var engine)) return engine;
        try
        {
            return CreateEngine(_mlContext, _model);
        }
        catch
        {
            Release();
            throw;
        }
    }

    private void Return(PredictionEngine<TSrc, TDst> engine)
    {
        lock (_gate)
        {
            if (!_disposed)
            {
                _idle.Add(engine);
                _inUse--;
                return;
            }
        }
        engine.Dispose();
        Release();
    }

    /// <summary>Ends one call; the last call to end after <see cref="Dispose"/> disposes an owned model.</summary>
    private void Release()
    {
        bool disposeModel;
        lock (_gate)
        {
            _inUse--;
            disposeModel = _disposed && _ownsModel && _inUse == 0;
        }
        if (disposeModel) (_model as IDisposable)?.Dispose();
    }
}
