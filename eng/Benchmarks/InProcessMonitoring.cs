using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Engines;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace Mask2Former.Benchmarks;

/// <summary>
/// The job every benchmark here uses: in process (the native libtorch needs the repository's build
/// step, and the evaluation data set is generated once), 1 warm-up and 5 measured runs of the whole
/// workload, with the median reported beside the mean.
/// </summary>
public sealed class InProcessMonitoring : ManualConfig
{
    /// <summary>Creates the configuration.</summary>
    public InProcessMonitoring()
    {
        AddJob(Job.Default.WithStrategy(RunStrategy.Monitoring).WithLaunchCount(1).WithWarmupCount(1).WithIterationCount(5)
            .WithToolchain(InProcessEmitToolchain.Instance));
        AddColumn(StatisticColumn.Median);
    }
}
