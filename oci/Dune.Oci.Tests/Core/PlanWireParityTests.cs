using System.Text.RegularExpressions;
using Dune.Oci.Plan;
using Dune.Oci.Tests.Seccomp;
using Xunit;

namespace Dune.Oci.Tests.Core;

/// <summary>
/// The setup plan's wire numbers are written twice: <c>oci/Dune.Oci/Plan/PlanOp.cs</c> (the
/// runtime that sends) and <c>oci/native/plan.h</c> (dune-init that executes). These tests read
/// both files and require the same ops and message kinds, by name and number, so a change on
/// one side alone fails here instead of as a misread step inside a container.
/// </summary>
public class PlanWireParityTests
{
    private static readonly string PlanOpFile = Path.Combine(RepoPaths.Root, "oci", "Dune.Oci", "Plan", "PlanOp.cs");
    private static readonly string PlanHeader = Path.Combine(RepoPaths.Root, "oci", "native", "plan.h");

    [Fact]
    public void OpsHaveTheSameNamesAndNumbers()
    {
        var csharp = CSharpEnum("PlanOp");
        var c = CEnum("plan_op", "OP_");
        c.Remove("LAST"); // an alias of the highest op, checked below
        Assert.Equal(Describe(csharp), Describe(c));
    }

    [Fact]
    public void OpLastIsTheHighestOp()
    {
        string header = File.ReadAllText(PlanHeader);
        Match last = Regex.Match(header, @"\bOP_LAST\s*=\s*OP_(\w+)\s*,");
        Assert.True(last.Success, "plan.h has no OP_LAST = OP_<name>");
        var c = CEnum("plan_op", "OP_");
        Assert.Equal(c.Where(kv => kv.Key != "LAST").Max(kv => kv.Value), c[Normalize(last.Groups[1].Value)]);
    }

    [Fact]
    public void MessageKindsHaveTheSameNamesAndNumbers()
    {
        Assert.Equal(Describe(CSharpEnum("PlanMessageKind")), Describe(CEnum("plan_kind", "KIND_")));
    }

    [Fact]
    public void MountHowBitsHaveTheSameNumbers()
    {
        // The names differ on purpose (HOW_MKDIR is MakeDirectory); the bits must not.
        var csharp = CSharpEnum("MountHow").Where(kv => kv.Value != 0).Select(kv => kv.Value).Order();
        var c = CEnum("mount_how", "HOW_").Values.Order();
        Assert.Equal(c, csharp);
    }

    [Theory]
    [InlineData("PlanOp")]
    [InlineData("PlanMessageKind")]
    public void TheSourceReaderSeesWhatTheCompilerBuilt(string name)
    {
        // Guards the parser above: what it reads from PlanOp.cs is the enum the runtime uses.
        var compiled = name == "PlanOp"
            ? Enum.GetValues<PlanOp>().ToDictionary(v => Normalize(v.ToString()), v => (ulong)v)
            : Enum.GetValues<PlanMessageKind>().ToDictionary(v => Normalize(v.ToString()), v => (ulong)v);
        Assert.Equal(Describe(compiled), Describe(CSharpEnum(name)));
    }

    /// <summary>One line per member, sorted by number then name: a readable diff on failure.</summary>
    private static string Describe(IReadOnlyDictionary<string, ulong> members) =>
        string.Join("\n", members.OrderBy(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv => $"{kv.Value} {kv.Key}"));

    /// <summary>Case and underscores do not count: SetHostname and OP_SETHOSTNAME, SeccompFd and KIND_SECCOMP_FD.</summary>
    private static string Normalize(string name) => name.Replace("_", "").ToUpperInvariant();

    private static Dictionary<string, ulong> CSharpEnum(string name)
    {
        string body = EnumBody(File.ReadAllText(PlanOpFile), $@"\benum\s+{name}\b[^{{]*\{{", PlanOpFile, name);
        return Members(body, "", PlanOpFile, name);
    }

    private static Dictionary<string, ulong> CEnum(string tag, string prefix)
    {
        string body = EnumBody(File.ReadAllText(PlanHeader), $@"\benum\s+{tag}\s*\{{", PlanHeader, tag);
        return Members(body, prefix, PlanHeader, tag);
    }

    private static string EnumBody(string text, string open, string file, string name)
    {
        Match m = Regex.Match(text, open);
        Assert.True(m.Success, $"{file} declares no enum {name}");
        int end = text.IndexOf('}', m.Index + m.Length);
        Assert.True(end > 0, $"{file}: enum {name} is not closed");
        // Comments do not declare members.
        string body = text[(m.Index + m.Length)..end];
        body = Regex.Replace(body, @"/\*.*?\*/", "", RegexOptions.Singleline);
        return Regex.Replace(body, @"//[^\n]*", "");
    }

    private static Dictionary<string, ulong> Members(string body, string prefix, string file, string name)
    {
        var members = new Dictionary<string, ulong>(StringComparer.Ordinal);
        foreach (string raw in body.Split(','))
        {
            string item = raw.Trim();
            if (item.Length == 0)
                continue;
            Match m = Regex.Match(item, $@"^{prefix}(\w+)\s*=\s*(?:(\d+)|{prefix}(\w+))$");
            Assert.True(m.Success, $"{file}: enum {name}: cannot read member '{item}' (every member needs an explicit number)");
            string key = Normalize(m.Groups[1].Value);
            ulong value = m.Groups[2].Success ? ulong.Parse(m.Groups[2].Value) : members[Normalize(m.Groups[3].Value)];
            Assert.True(members.TryAdd(key, value), $"{file}: enum {name} declares {key} twice");
        }
        Assert.NotEmpty(members);
        return members;
    }
}
