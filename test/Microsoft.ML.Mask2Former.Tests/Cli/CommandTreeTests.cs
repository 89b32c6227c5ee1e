using System.CommandLine;

namespace Microsoft.ML.Mask2Former.Tests.Cli;

/// <summary>
/// <c>m2f</c> builds only the command its first argument names (so <c>m2f eval</c> does not load
/// the training library): that partial tree must hold the same command, and every command of the
/// full tree must be reachable that way.
/// </summary>
[TestClass]
public sealed class CommandTreeTests
{
    [TestMethod]
    public void EachTopLevelCommandBuiltAloneIsTheSameAsInTheFullTree()
    {
        var full = global::Mask2Former.Cli.Program.BuildRoot(TextWriter.Null, TextWriter.Null);
        var names = full.Subcommands.Select(c => c.Name).Order(StringComparer.Ordinal).ToArray();
        CollectionAssert.AreEqual(global::Mask2Former.Cli.Program.CommandNames.Order(StringComparer.Ordinal).ToArray(), names);
        foreach (var command in full.Subcommands)
        {
            var alone = global::Mask2Former.Cli.Program.BuildRoot(TextWriter.Null, TextWriter.Null, command.Name);
            Assert.HasCount(1, alone.Subcommands, command.Name);
            Assert.AreEqual(Describe(command), Describe(alone.Subcommands[0]), command.Name);
        }
    }

    [TestMethod]
    public void AnUnknownFirstArgumentStillGetsTheFullTreesError()
    {
        var stderr = new StringWriter();
        Assert.AreEqual(2, global::Mask2Former.Cli.Program.Run(["evaluate", "panoptic"], TextWriter.Null, stderr));
        StringAssert.Contains(stderr.ToString(), "evaluate");
    }

    private static string Describe(System.CommandLine.Command command) =>
        $"{command.Name}({string.Join(",", command.Options.Select(o => o.Name))})[{string.Join(";", command.Subcommands.Select(Describe))}]";
}
