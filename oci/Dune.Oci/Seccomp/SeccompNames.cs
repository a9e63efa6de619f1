namespace Dune.Oci.Seccomp;

/// <summary>The linux.seccomp names this runtime accepts, as `dune features` reports them.</summary>
public static class SeccompNames
{
    public static IReadOnlyList<string> Actions { get; } = new[]
    {
        "SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD",
        "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP",
    };

    /// <summary>The actions this kernel can carry out: SCMP_ACT_NOTIFY needs "user_notif" (Linux 5.0).</summary>
    public static IReadOnlyList<string> SupportedActions(string actionsAvail) =>
        actionsAvail.Split(' ', '\n').Contains("user_notif", StringComparer.Ordinal)
            ? Actions
            : Actions.Where(a => a != "SCMP_ACT_NOTIFY").ToList();

    public static IReadOnlyList<string> Operators { get; } = new[]
    {
        "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE",
    };

    public static IReadOnlyList<string> Architectures { get; } = new[] { "SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32" };

    public static IReadOnlyList<string> Flags { get; } = new[]
    {
        "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
    };

    /// <summary>
    /// The flags this kernel accepts, for `supportedFlags`: <paramref name="kernelAccepts"/> is
    /// asked with each flag's value (WAIT_KILLABLE_RECV together with NEW_LISTENER, which it needs).
    /// </summary>
    public static IReadOnlyList<string> SupportedFlags(Func<SeccompFilterFlags, bool> kernelAccepts) =>
        Flags.Where(f => kernelAccepts(FlagValue(f) | (f == "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV" ? SeccompFilterFlags.NewListener : 0))).ToList();

    public static SeccompFilterFlags FlagValue(string name) => name switch
    {
        "SECCOMP_FILTER_FLAG_TSYNC" => SeccompFilterFlags.Tsync,
        "SECCOMP_FILTER_FLAG_LOG" => SeccompFilterFlags.Log,
        "SECCOMP_FILTER_FLAG_SPEC_ALLOW" => SeccompFilterFlags.SpecAllow,
        "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV" => SeccompFilterFlags.WaitKillableRecv,
        _ => throw new ArgumentException($"unknown seccomp flag {name}", nameof(name)),
    };
}
