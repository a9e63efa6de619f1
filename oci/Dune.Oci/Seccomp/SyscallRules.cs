namespace Dune.Oci.Seccomp;

/// <summary>
/// What one syscall number of one ABI does under a policy, with libseccomp's ordering rules
/// as runc applies them already resolved: an unconditional rule decides alone (the first one
/// wins, conditional rules under it are dropped); otherwise the conditional rules are tried
/// in spec order and the first whose conditions all hold decides; no match, or a number
/// without an entry, gets the default action. Rules whose action equals the default action
/// are dropped (runc does so).
/// </summary>
internal sealed class SyscallRuleList
{
    /// <summary>The action of the first unconditional rule, when there is one.</summary>
    public uint? Unconditional { get; set; }

    /// <summary>Conditional rules in spec order (only meaningful without <see cref="Unconditional"/>).</summary>
    public List<SeccompRule> Conditional { get; } = new();
}

/// <summary>
/// The one place that turns a parsed <c>linux.seccomp</c> into per-syscall-number decisions:
/// the kernel filter (<see cref="FilterEmitter"/>) and the Dune monitor's policy
/// (<see cref="MonitorPolicy"/>) are both written from it.
/// </summary>
internal static class SyscallRules
{
    public static SortedDictionary<uint, SyscallRuleList> For(ParsedSeccomp spec, SeccompArch arch)
    {
        var lists = new SortedDictionary<uint, SyscallRuleList>();
        void Add(uint nr, SeccompRule rule)
        {
            if (!lists.TryGetValue(nr, out SyscallRuleList? list))
                lists.Add(nr, list = new SyscallRuleList());
            if (rule.Conditions.Length == 0)
                list.Unconditional ??= rule.Action;
            else if (list.Conditional.Count == 0 || !ReferenceEquals(list.Conditional[^1], rule))
                list.Conditional.Add(rule);
        }

        foreach (SeccompRule rule in spec.Rules)
        {
            if (rule.Action == spec.DefaultAction)
                continue;
            foreach (string name in rule.Names)
            {
                if (SyscallTable.TryGetNumber(arch, name, out uint nr))
                    Add(nr, rule);
                if (arch == SeccompArch.X86 && X86Multiplexers.TryGet(name, out uint multiplexer, out uint call))
                    Add(multiplexer, X86Multiplexers.Derive(rule, call));
            }
        }
        return lists;
    }
}
