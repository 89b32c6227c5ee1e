using global::Mask2Former.Cli.Sharding;

namespace Microsoft.ML.Mask2Former.Tests.Cli;

/// <summary>How a process learns its shard: --shard, a Kubernetes Indexed Job, a Slurm job array.</summary>
[TestClass]
public sealed class ShardSpecTests
{
    private static Func<string, string?> Env(params (string Name, string Value)[] variables) =>
        name => variables.FirstOrDefault(v => v.Name == name).Value;

    [TestMethod]
    public void EachConventionGivesIndexAndCount()
    {
        Assert.AreEqual(new ShardSpec(2, 5), ShardSpec.Resolve("2/5", null, Env()));
        Assert.AreEqual(new ShardSpec(3, 4), ShardSpec.Resolve(null, 4, Env(("JOB_COMPLETION_INDEX", "3"))));
        Assert.AreEqual(new ShardSpec(3, 4), ShardSpec.Resolve(null, null, Env(("JOB_COMPLETION_INDEX", "3"), ("M2F_SHARDS", "4"))));
        Assert.AreEqual(new ShardSpec(1, 3), ShardSpec.Resolve(null, null, Env(("SLURM_ARRAY_TASK_ID", "2"), ("SLURM_ARRAY_TASK_MIN", "1"), ("SLURM_ARRAY_TASK_COUNT", "3"))));
        Assert.AreEqual(ShardSpec.Whole, ShardSpec.Resolve(null, null, Env()));
        // --shard wins over the environment.
        Assert.AreEqual(new ShardSpec(0, 2), ShardSpec.Resolve("0/2", null, Env(("JOB_COMPLETION_INDEX", "1"), ("M2F_SHARDS", "2"))));
        Assert.AreEqual("shard-0002-of-0010", new ShardSpec(2, 10).Name);
        var shard = new ShardSpec(1, 3);
        CollectionAssert.AreEqual(new[] { 1, 4, 7 }, Enumerable.Range(0, 9).Where(shard.Contains).ToArray());
    }

    [TestMethod]
    [DataRow("3/3", null, null, "not below")]
    [DataRow("1-3", null, null, "--shard must be I/N")]
    [DataRow("0/0", null, null, "1..100000")]
    [DataRow(null, 4, null, "needs a shard index")]
    [DataRow(null, null, "JOB_COMPLETION_INDEX=1", "M2F_SHARDS")]
    [DataRow(null, null, "JOB_COMPLETION_INDEX=x", "JOB_COMPLETION_INDEX must be")]
    [DataRow(null, null, "SLURM_ARRAY_TASK_ID=4", "SLURM_ARRAY_TASK_COUNT")]
    [DataRow("1/2", 3, null, "disagree")]
    public void MalformedOrContradictorySettingsAreRefusedByName(string? shard, int? shards, string? variable, string message)
    {
        var env = variable is null ? Env() : Env((variable.Split('=')[0], variable.Split('=')[1]));
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => ShardSpec.Resolve(shard, shards, env)).Message, message);
    }
}
