using System.Text.Json;
using Dune.Oci.Spec;

namespace Dune.Oci.Seccomp;

/// <summary>
/// The policy the Dune monitor (libdune's dune-run) enforces, written in the normalized form
/// its reader (libdune/src/policy.c) takes: per x86_64 syscall number an ordered list of
/// rules, the first whose argument conditions all hold decides, else the default action.
/// Everything runc + libseccomp decide about a <c>linux.seccomp</c> section (same-argument
/// tests split into ORed rules, unconditional rules deciding alone, rules equal to the
/// default dropped, masked values) is resolved here by <see cref="SyscallRules"/>, the same
/// code the kernel filter is emitted from, so the monitor and the kernel filter cannot
/// disagree. The format is documented in libdune/README.md ("Policy format").
/// </summary>
public static class MonitorPolicy
{
    /// <summary>The format version dune-run checks ("dunePolicy").</summary>
    public const int FormatVersion = 1;

    /// <summary>The normalized policy for <paramref name="spec"/>, or for Docker's default
    /// profile (<see cref="DefaultSeccompProfile"/>) when the container has no linux.seccomp.</summary>
    public static byte[] Write(LinuxSeccomp? spec)
    {
        ParsedSeccomp parsed = SeccompSpecParser.Parse(spec ?? DefaultSeccompProfile.Create());
        SortedDictionary<uint, SyscallRuleList> lists = SyscallRules.For(parsed, SeccompArch.X86_64);
        Dictionary<uint, string> names = NamesByNumber(parsed);

        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteNumber("dunePolicy", FormatVersion);
            WriteAction(w, parsed.DefaultAction, "defaultAction", "defaultErrnoRet");
            w.WriteStartArray("syscalls");
            foreach ((uint nr, SyscallRuleList list) in lists)
            {
                w.WriteStartObject();
                w.WriteNumber("nr", nr);
                if (names.TryGetValue(nr, out string? name))
                    w.WriteString("name", name);
                w.WriteStartArray("rules");
                if (list.Unconditional is uint action)
                {
                    WriteRule(w, action, []);
                }
                else
                {
                    foreach (SeccompRule rule in list.Conditional)
                        WriteRule(w, rule.Action, rule.Conditions);
                }
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return buffer.ToArray();
    }

    private static void WriteRule(Utf8JsonWriter w, uint action, ArgCondition[] conditions)
    {
        w.WriteStartObject();
        WriteAction(w, action, "action", "errnoRet");
        if (conditions.Length > 0)
        {
            w.WriteStartArray("args");
            foreach (ArgCondition c in conditions)
            {
                w.WriteStartObject();
                w.WriteNumber("index", c.Index);
                w.WriteString("op", OpName(c.Op));
                w.WriteNumber("value", c.Value);
                // libseccomp compares (arg & mask) with (expected & mask): written masked, so
                // the reader's test is (arg & value) == valueTwo.
                if (c.Op == ArgOp.MaskedEqual)
                    w.WriteNumber("valueTwo", c.ValueTwo & c.Value);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        w.WriteEndObject();
    }

    // A filter return value as an action name plus, for ERRNO and TRACE, its data.
    private static void WriteAction(Utf8JsonWriter w, uint value, string actionKey, string errnoKey)
    {
        uint data = value & SeccompReturn.DataMask;
        (string name, bool hasData) = (value & SeccompReturn.ActionMask) switch
        {
            SeccompReturn.KillProcess => ("SCMP_ACT_KILL_PROCESS", false),
            SeccompReturn.KillThread => ("SCMP_ACT_KILL_THREAD", false),
            SeccompReturn.Trap => ("SCMP_ACT_TRAP", false),
            SeccompReturn.Errno => ("SCMP_ACT_ERRNO", true),
            SeccompReturn.Trace => ("SCMP_ACT_TRACE", true),
            SeccompReturn.Log => ("SCMP_ACT_LOG", false),
            SeccompReturn.Allow => ("SCMP_ACT_ALLOW", false),
            SeccompReturn.UserNotif => ("SCMP_ACT_NOTIFY", false),
            _ => throw new ArgumentOutOfRangeException(nameof(value), $"0x{value:x8} is no seccomp action"),
        };
        w.WriteString(actionKey, name);
        if (hasData)
            w.WriteNumber(errnoKey, data);
    }

    private static string OpName(ArgOp op) => op switch
    {
        ArgOp.NotEqual => "SCMP_CMP_NE",
        ArgOp.LessThan => "SCMP_CMP_LT",
        ArgOp.LessOrEqual => "SCMP_CMP_LE",
        ArgOp.Equal => "SCMP_CMP_EQ",
        ArgOp.GreaterOrEqual => "SCMP_CMP_GE",
        ArgOp.GreaterThan => "SCMP_CMP_GT",
        ArgOp.MaskedEqual => "SCMP_CMP_MASKED_EQ",
        _ => throw new ArgumentOutOfRangeException(nameof(op)),
    };

    // For readers of the file and dune-run's messages: the x86_64 name each listed number came from.
    private static Dictionary<uint, string> NamesByNumber(ParsedSeccomp parsed)
    {
        var names = new Dictionary<uint, string>();
        foreach (SeccompRule rule in parsed.Rules)
        {
            foreach (string name in rule.Names)
            {
                if (SyscallTable.TryGetNumber(SeccompArch.X86_64, name, out uint nr))
                    names.TryAdd(nr, name);
            }
        }
        return names;
    }
}
