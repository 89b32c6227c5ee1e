using System.CommandLine;

namespace Mask2Former.Cli;

/// <summary>
/// Where each command file adds itself to the command tree. A command lives in one file under
/// Commands/ that implements one of these partial methods, so commands are added or removed
/// without touching <see cref="Program"/>; an unimplemented hook compiles to nothing.
/// </summary>
internal static partial class CommandHooks
{
    /// <summary>Adds <c>m2f eval instances</c>.</summary>
    static partial void AddEvalInstances(Command eval, TextWriter stdout, TextWriter stderr);

    /// <summary>Adds <c>m2f segment</c>.</summary>
    static partial void AddSegment(RootCommand root, TextWriter stdout, TextWriter stderr);

    /// <summary>Adds <c>m2f train</c>.</summary>
    static partial void AddTrain(RootCommand root, TextWriter stdout, TextWriter stderr);

    /// <summary>Adds <c>m2f export</c>.</summary>
    static partial void AddExport(RootCommand root, TextWriter stdout, TextWriter stderr);

    /// <summary>Adds <c>m2f sweep</c>.</summary>
    static partial void AddSweep(RootCommand root, TextWriter stdout, TextWriter stderr);

    /// <summary>Adds <c>m2f render</c>.</summary>
    static partial void AddRender(RootCommand root, TextWriter stdout, TextWriter stderr);

    /// <summary>Adds <c>m2f convert</c>.</summary>
    static partial void AddConvert(RootCommand root, TextWriter stdout, TextWriter stderr);

    /// <summary>Adds <c>m2f test</c>.</summary>
    static partial void AddTest(RootCommand root, TextWriter stdout, TextWriter stderr);

    /// <summary>Adds <c>m2f merge</c>.</summary>
    static partial void AddMerge(RootCommand root, TextWriter stdout, TextWriter stderr);

    /// <summary>
    /// Adds the optional commands <paramref name="wanted"/> names to the tree (and
    /// <c>eval instances</c> to <paramref name="eval"/> when the tree has one).
    /// </summary>
    public static void AddAll(RootCommand root, Command? eval, TextWriter stdout, TextWriter stderr, Func<string, bool> wanted)
    {
        if (eval is not null) AddEvalInstances(eval, stdout, stderr);
        if (wanted("segment")) AddSegment(root, stdout, stderr);
        if (wanted("train")) AddTrain(root, stdout, stderr);
        if (wanted("export")) AddExport(root, stdout, stderr);
        if (wanted("sweep")) AddSweep(root, stdout, stderr);
        if (wanted("render")) AddRender(root, stdout, stderr);
        if (wanted("convert")) AddConvert(root, stdout, stderr);
        if (wanted("test")) AddTest(root, stdout, stderr);
        if (wanted("merge")) AddMerge(root, stdout, stderr);
    }
}
