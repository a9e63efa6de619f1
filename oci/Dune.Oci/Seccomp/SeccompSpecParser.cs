using Dune.Oci.Spec;

namespace Dune.Oci.Seccomp;

/// <summary>Comparison operators of <c>linux.seccomp.syscalls[].args[].op</c>.</summary>
internal enum ArgOp
{
    NotEqual,
    LessThan,
    LessOrEqual,
    Equal,
    GreaterOrEqual,
    GreaterThan,
    MaskedEqual,
}

/// <summary>One argument test; for MaskedEqual, Value is the mask and ValueTwo the expected value.</summary>
internal readonly record struct ArgCondition(int Index, ArgOp Op, ulong Value, ulong ValueTwo);

/// <summary>A validated <c>linux.seccomp.syscalls[i]</c> entry.</summary>
internal sealed record SeccompRule(int SpecIndex, IReadOnlyList<string> Names, uint Action, ArgCondition[] Conditions);

/// <summary>A validated <c>linux.seccomp</c> section with every name resolved to a value.</summary>
internal sealed record ParsedSeccomp(
    uint DefaultAction,
    IReadOnlySet<SeccompArch> Architectures,
    SeccompFilterFlags Flags,
    IReadOnlyList<SeccompRule> Rules);

/// <summary>
/// Checks a <c>linux.seccomp</c> section and turns its strings into values. Every error
/// names the JSON path of the offending field.
/// </summary>
internal static class SeccompSpecParser
{
    private const string Root = "linux.seccomp";
    private const uint DefaultErrno = 1; // EPERM, as runc uses when errnoRet is absent

    // Architectures libseccomp knows but that can never appear in seccomp_data.arch on an
    // x86 kernel: accepted (profiles list them for portability) and compiled to nothing.
    private static readonly HashSet<string> ForeignArchitectures = new(StringComparer.Ordinal)
    {
        "SCMP_ARCH_ARM", "SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64",
        "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32",
        "SCMP_ARCH_PPC", "SCMP_ARCH_PPC64", "SCMP_ARCH_PPC64LE", "SCMP_ARCH_S390",
        "SCMP_ARCH_S390X", "SCMP_ARCH_PARISC", "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64",
        "SCMP_ARCH_LOONGARCH64", "SCMP_ARCH_M68K", "SCMP_ARCH_SH", "SCMP_ARCH_SHEB",
    };

    public static ParsedSeccomp Parse(LinuxSeccomp spec)
    {
        uint defaultAction = ParseAction(spec.DefaultAction, spec.DefaultErrnoRet,
            $"{Root}.defaultAction", $"{Root}.defaultErrnoRet");
        // Every call would wait for a listener that only gets its descriptor through calls
        // of the same process: runc refuses it too.
        if (defaultAction == SeccompReturn.UserNotif)
            throw new SeccompException($"{Root}.defaultAction", "SCMP_ACT_NOTIFY cannot be used as default action");
        List<SeccompRule> rules = ParseRules(spec.Syscalls);
        SeccompFilterFlags flags = ParseFlags(spec.Flags);
        // A notify rule makes the kernel return the listener's descriptor (seccomp_unotify(2)).
        // TSYNC alone would refuse the pair (EBUSY is not distinguishable from a thread that
        // disagrees); TSYNC_ESRCH reports such a thread as ESRCH instead, as libseccomp does.
        // WAIT_KILLABLE_RECV is about how a notified call waits for its listener: without one
        // it means nothing, and the kernel refuses it (EINVAL), so it is dropped then.
        if (rules.Any(r => r.Action == SeccompReturn.UserNotif))
            flags |= SeccompFilterFlags.NewListener | (flags.HasFlag(SeccompFilterFlags.Tsync) ? SeccompFilterFlags.TsyncEsrch : 0);
        else
            flags &= ~SeccompFilterFlags.WaitKillableRecv;
        return new ParsedSeccomp(defaultAction, ParseArchitectures(spec.Architectures), flags, rules);
    }

    private static HashSet<SeccompArch> ParseArchitectures(List<string>? names)
    {
        // The native ABI is always filtered, as with runc: libseccomp's seccomp_init adds
        // it and runc never removes it. An empty list therefore means "native only".
        var archs = new HashSet<SeccompArch> { SeccompArch.X86_64 };
        if (names is null)
            return archs;
        for (int i = 0; i < names.Count; i++)
        {
            switch (names[i])
            {
                case "SCMP_ARCH_X86_64": archs.Add(SeccompArch.X86_64); break;
                case "SCMP_ARCH_X86": archs.Add(SeccompArch.X86); break;
                case "SCMP_ARCH_X32": archs.Add(SeccompArch.X32); break;
                case string s when ForeignArchitectures.Contains(s): break;
                default:
                    throw new SeccompException($"{Root}.architectures[{i}]", $"unknown architecture {Quote(names[i])}");
            }
        }
        return archs;
    }

    private static SeccompFilterFlags ParseFlags(List<string>? names)
    {
        var flags = SeccompFilterFlags.None;
        if (names is null)
            return flags;
        for (int i = 0; i < names.Count; i++)
        {
            flags |= names[i] switch
            {
                "SECCOMP_FILTER_FLAG_TSYNC" => SeccompFilterFlags.Tsync,
                "SECCOMP_FILTER_FLAG_LOG" => SeccompFilterFlags.Log,
                "SECCOMP_FILTER_FLAG_SPEC_ALLOW" => SeccompFilterFlags.SpecAllow,
                "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV" => SeccompFilterFlags.WaitKillableRecv,
                _ => throw new SeccompException($"{Root}.flags[{i}]", $"unknown flag {Quote(names[i])}"),
            };
        }
        return flags;
    }

    private static List<SeccompRule> ParseRules(List<LinuxSyscall>? syscalls)
    {
        var rules = new List<SeccompRule>();
        if (syscalls is null)
            return rules;
        for (int i = 0; i < syscalls.Count; i++)
        {
            string path = $"{Root}.syscalls[{i}]";
            LinuxSyscall? call = syscalls[i];
            if (call is null)
                throw new SeccompException(path, "must be an object, not null");
            if (call.Names is null || call.Names.Count == 0)
                throw new SeccompException($"{path}.names", "must list at least one syscall name");
            for (int j = 0; j < call.Names.Count; j++)
            {
                if (string.IsNullOrEmpty(call.Names[j]))
                    throw new SeccompException($"{path}.names[{j}]", "syscall name must not be empty");
            }
            uint action = ParseAction(call.Action, call.ErrnoRet, $"{path}.action", $"{path}.errnoRet");
            if (action == SeccompReturn.UserNotif)
                CheckNotifiable(call.Names, $"{path}.names");
            var conditions = new ArgCondition[call.Args?.Count ?? 0];
            for (int k = 0; k < conditions.Length; k++)
                conditions[k] = ParseArg(call.Args![k], $"{path}.args[{k}]");
            string[] names = call.Names.ToArray();
            if (conditions.Select(c => c.Index).Distinct().Count() == conditions.Length)
            {
                rules.Add(new SeccompRule(i, names, action, conditions));
            }
            else
            {
                // Two tests on one argument: runc adds each test as a rule of its own (OR),
                // since libseccomp cannot AND them. Keep that meaning.
                foreach (ArgCondition c in conditions)
                    rules.Add(new SeccompRule(i, names, action, [c]));
            }
        }
        return rules;
    }

    private static ArgCondition ParseArg(LinuxSeccompArg? arg, string path)
    {
        if (arg is null)
            throw new SeccompException(path, "must be an object, not null");
        if (arg.Index > 5)
            throw new SeccompException($"{path}.index", $"{arg.Index} is out of range: a syscall has arguments 0 to 5");
        ArgOp op = arg.Op switch
        {
            "SCMP_CMP_NE" => ArgOp.NotEqual,
            "SCMP_CMP_LT" => ArgOp.LessThan,
            "SCMP_CMP_LE" => ArgOp.LessOrEqual,
            "SCMP_CMP_EQ" => ArgOp.Equal,
            "SCMP_CMP_GE" => ArgOp.GreaterOrEqual,
            "SCMP_CMP_GT" => ArgOp.GreaterThan,
            "SCMP_CMP_MASKED_EQ" => ArgOp.MaskedEqual,
            _ => throw new SeccompException($"{path}.op", $"unknown operator {Quote(arg.Op)}"),
        };
        return new ArgCondition((int)arg.Index, op, arg.Value, arg.ValueTwo);
    }

    // The filter return value for an action name. errnoRet is the errno for ERRNO and the
    // tracer's message for TRACE (EPERM when absent, as runc); other actions ignore it, as
    // runc does.
    private static uint ParseAction(string? name, uint? errnoRet, string actionPath, string errnoPath)
    {
        uint Data()
        {
            uint value = errnoRet ?? DefaultErrno;
            if (value > SeccompReturn.DataMask)
                throw new SeccompException(errnoPath, $"{value} does not fit the 16-bit seccomp return data");
            return value;
        }

        return name switch
        {
            "SCMP_ACT_KILL" or "SCMP_ACT_KILL_THREAD" => SeccompReturn.KillThread,
            "SCMP_ACT_KILL_PROCESS" => SeccompReturn.KillProcess,
            "SCMP_ACT_TRAP" => SeccompReturn.Trap,
            "SCMP_ACT_ERRNO" => SeccompReturn.Errno | Data(),
            "SCMP_ACT_TRACE" => SeccompReturn.Trace | Data(),
            "SCMP_ACT_LOG" => SeccompReturn.Log,
            "SCMP_ACT_ALLOW" => SeccompReturn.Allow,
            "SCMP_ACT_NOTIFY" => SeccompReturn.UserNotif,
            _ => throw new SeccompException(actionPath, $"unknown action {Quote(name)}"),
        };
    }

    // dune-init reports the new filter's descriptor to dune with write(2) before the agent
    // has it (dune takes its copy with pidfd_getfd): a notification for that write would wait
    // for ever. runc refuses it for the same reason.
    private static void CheckNotifiable(List<string> names, string path)
    {
        if (names.Contains("write", StringComparer.Ordinal))
            throw new SeccompException(path, "SCMP_ACT_NOTIFY cannot be used for the write syscall");
    }

    private static string Quote(string? s) => s is null ? "null" : $"\"{s}\"";
}
