using System.Globalization;

namespace Mask2Former.Cli.Sharding;

/// <summary>
/// Which part of a data set one process works on: the items whose position in a stable order,
/// modulo <see cref="Count"/>, is <see cref="Index"/>. Read from <c>--shard I/N</c>, or from the
/// conventions of the engines people run batch work on: Kubernetes Indexed Jobs
/// (<c>JOB_COMPLETION_INDEX</c>, with the Job's completion count from <c>--shards N</c> or
/// <c>M2F_SHARDS</c>) and Slurm job arrays (<c>SLURM_ARRAY_TASK_ID</c> − <c>SLURM_ARRAY_TASK_MIN</c>
/// of <c>SLURM_ARRAY_TASK_COUNT</c>).
/// </summary>
internal sealed record ShardSpec(int Index, int Count)
{
    /// <summary>The environment variable that gives a Kubernetes Indexed Job's shard count (the Job does not expose it).</summary>
    public const string ShardCountVariable = "M2F_SHARDS";

    /// <summary>The whole data set in one process.</summary>
    public static ShardSpec Whole { get; } = new(0, 1);

    public bool IsWhole => Count == 1;

    /// <summary>A name for the shard's outputs, ordered as the shards are: <c>shard-0002-of-0008</c>.</summary>
    public string Name => string.Create(CultureInfo.InvariantCulture, $"shard-{Index:D4}-of-{Count:D4}");

    /// <summary>Whether the item at <paramref name="position"/> of the stable order is this shard's.</summary>
    public bool Contains(int position) => position % Count == Index;

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Index}/{Count}");

    /// <summary>Resolves the shard: <c>--shard</c> first, then a Kubernetes Indexed Job, then a Slurm array, else the whole data set.</summary>
    /// <param name="shardOption">The <c>--shard I/N</c> text, if given.</param>
    /// <param name="shardsOption">The <c>--shards N</c> count, if given.</param>
    /// <param name="environment">Reads an environment variable (null when unset).</param>
    /// <exception cref="ArgumentException">An option or variable is malformed or out of range; the message names it.</exception>
    public static ShardSpec Resolve(string? shardOption, int? shardsOption, Func<string, string?> environment)
    {
        if (shardOption is not null)
        {
            var parts = shardOption.Split('/');
            if (parts.Length != 2 || !TryCount(parts[0], out var i) || !TryCount(parts[1], out var n))
                throw new ArgumentException($"--shard must be I/N with 0 <= I < N (e.g. 0/4), got '{shardOption}'");
            if (shardsOption is { } s && s != n) throw new ArgumentException($"--shard {shardOption} and --shards {s} disagree on the number of shards");
            return Checked(i, n, "--shard");
        }
        if (environment("JOB_COMPLETION_INDEX") is { } jobIndex)
        {
            if (!TryCount(jobIndex, out var i)) throw new ArgumentException($"JOB_COMPLETION_INDEX must be a non-negative integer, got '{jobIndex}'");
            var count = shardsOption ?? ParseCount(environment(ShardCountVariable), ShardCountVariable)
                ?? throw new ArgumentException($"JOB_COMPLETION_INDEX is set (a Kubernetes Indexed Job) but not the number of shards: pass --shards N (the Job's completions) or set {ShardCountVariable}");
            return Checked(i, count, "JOB_COMPLETION_INDEX");
        }
        if (environment("SLURM_ARRAY_TASK_ID") is { } taskId)
        {
            if (!TryCount(taskId, out var id)) throw new ArgumentException($"SLURM_ARRAY_TASK_ID must be a non-negative integer, got '{taskId}'");
            var min = ParseCount(environment("SLURM_ARRAY_TASK_MIN"), "SLURM_ARRAY_TASK_MIN") ?? 0;
            var count = shardsOption ?? ParseCount(environment("SLURM_ARRAY_TASK_COUNT"), "SLURM_ARRAY_TASK_COUNT")
                ?? throw new ArgumentException("SLURM_ARRAY_TASK_ID is set (a Slurm job array) but not SLURM_ARRAY_TASK_COUNT: pass --shards N");
            if (id < min) throw new ArgumentException($"SLURM_ARRAY_TASK_ID {id} is below SLURM_ARRAY_TASK_MIN {min}");
            return Checked(id - min, count, "SLURM_ARRAY_TASK_ID");
        }
        if (shardsOption is { } alone && alone != 1)
            throw new ArgumentException($"--shards {alone} needs a shard index: --shard I/{alone}, JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID");
        return Whole;
    }

    private static ShardSpec Checked(int index, int count, string source)
    {
        if (count < 1 || count > 100_000) throw new ArgumentException($"the number of shards must be in 1..100000, got {count} ({source})");
        if (index >= count) throw new ArgumentException($"shard index {index} is not below the number of shards {count} ({source})");
        return new ShardSpec(index, count);
    }

    private static int? ParseCount(string? text, string name) =>
        text is null ? null : TryCount(text, out var n) ? n : throw new ArgumentException($"{name} must be a non-negative integer, got '{text}'");

    private static bool TryCount(string text, out int value) =>
        int.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out value);
}
