namespace Dune.Oci.Seccomp;

/// <summary>
/// Lays out the filter for <see cref="SeccompCompiler"/>: the arch check, one section per
/// AUDIT_ARCH value with a binary search over syscall-number ranges, and one block per
/// syscall that has argument conditions. Code is emitted back to front (see
/// <see cref="BpfBuilder"/>), so every target exists before the jump to it.
/// </summary>
internal sealed class FilterEmitter
{
    // Where a syscall-number range leads: a return value, or an emitted block's label.
    private readonly record struct Target(bool IsBlock, uint Value)
    {
        public static Target Return(uint action) => new(false, action);

        public static Target Block(int label) => new(true, (uint)label);
    }

    private readonly record struct Segment(uint Start, Target Target);

    private readonly BpfBuilder _b;
    private readonly ParsedSeccomp _spec;

    public FilterEmitter(BpfBuilder builder, ParsedSeccomp spec)
    {
        _b = builder;
        _spec = spec;
    }

    /// <summary>Emits the whole program and returns its entry label.</summary>
    public int EmitProgram()
    {
        bool hasX86 = _spec.Architectures.Contains(SeccompArch.X86);
        int i386 = hasX86 ? EmitI386Section() : -1;
        int x86_64 = EmitX86_64Section();

        // Any other AUDIT_ARCH is a foreign ABI: libseccomp's bad-arch action.
        int notX86_64 = hasX86
            ? _b.Jump(Bpf.JeqK, AuditArch.I386, i386, _b.Ret(SeccompReturn.KillProcess))
            : _b.Ret(SeccompReturn.KillProcess);
        int archCheck = _b.Jump(Bpf.JeqK, AuditArch.X86_64, x86_64, notX86_64);
        return _b.Statement(Bpf.LdWAbs, SeccompDataLayout.Arch, archCheck);
    }

    private int EmitI386Section()
    {
        Dictionary<uint, Target> targets = EmitSyscallTargets(SeccompArch.X86);
        var fixedRanges = new List<(uint Lo, uint Hi, Target Target)>();
        return EmitDispatch(targets, fixedRanges);
    }

    // AUDIT_ARCH_X86_64 covers two ABIs: x86_64 numbers below the x32 bit, x32 numbers
    // with it. nr == -1 (a tracer cancelling the syscall) is neither and gets the default.
    private int EmitX86_64Section()
    {
        Dictionary<uint, Target> targets = EmitSyscallTargets(SeccompArch.X86_64);
        var fixedRanges = new List<(uint Lo, uint Hi, Target Target)>();
        if (_spec.Architectures.Contains(SeccompArch.X32))
        {
            foreach (KeyValuePair<uint, Target> x32 in EmitSyscallTargets(SeccompArch.X32))
                targets.Add(x32.Key, x32.Value);
        }
        else
        {
            fixedRanges.Add((SyscallTable.X32SyscallBit, 0xFFFFFFFE, Target.Return(SeccompReturn.KillProcess)));
        }
        return EmitDispatch(targets, fixedRanges);
    }

    // Syscall number -> target for every syscall of the ABI whose outcome differs from the
    // default action; blocks for argument conditions are emitted here.
    private Dictionary<uint, Target> EmitSyscallTargets(SeccompArch arch)
    {
        SortedDictionary<uint, SyscallRuleList> policies = SyscallRules.For(_spec, arch);

        bool wide = arch == SeccompArch.X86_64;
        var blocks = new Dictionary<string, int>(StringComparer.Ordinal); // same rule list -> one block
        var ruleIds = new Dictionary<SeccompRule, int>(ReferenceEqualityComparer.Instance);
        var targets = new Dictionary<uint, Target>();
        foreach ((uint nr, SyscallRuleList policy) in policies)
        {
            if (policy.Unconditional is uint action)
            {
                targets.Add(nr, Target.Return(action));
                continue;
            }
            string key = string.Join(',', policy.Conditional.Select(r =>
                ruleIds.TryGetValue(r, out int id) ? id : ruleIds[r] = ruleIds.Count));
            if (!blocks.TryGetValue(key, out int label))
                blocks.Add(key, label = EmitRuleBlock(policy.Conditional, wide));
            targets.Add(nr, Target.Block(label));
        }
        return targets;
    }

    // Rules tried in order; each is an AND of its conditions; no match -> default action.
    private int EmitRuleBlock(List<SeccompRule> rules, bool wide)
    {
        int next = _b.Ret(_spec.DefaultAction);
        for (int r = rules.Count - 1; r >= 0; r--)
        {
            int entry = _b.Ret(rules[r].Action);
            ArgCondition[] conditions = rules[r].Conditions;
            for (int c = conditions.Length - 1; c >= 0; c--)
                entry = ArgComparison.Emit(_b, conditions[c], wide, entry, next);
            next = entry;
        }
        return next;
    }

    // ld nr, then a balanced binary search over the ranges of syscall numbers.
    private int EmitDispatch(Dictionary<uint, Target> targets, List<(uint Lo, uint Hi, Target Target)> fixedRanges)
    {
        List<Segment> segments = BuildSegments(targets, fixedRanges, Target.Return(_spec.DefaultAction));
        int root = EmitSearch(segments, 0, segments.Count);
        return _b.Statement(Bpf.LdWAbs, SeccompDataLayout.Nr, root);
    }

    // Cuts [0, 2^32) into maximal ranges with one target each; numbers not mentioned get
    // the default.
    private static List<Segment> BuildSegments(
        Dictionary<uint, Target> targets, List<(uint Lo, uint Hi, Target Target)> fixedRanges, Target fallback)
    {
        var ranges = new List<(uint Lo, uint Hi, Target Target)>(fixedRanges);
        foreach ((uint nr, Target target) in targets)
            ranges.Add((nr, nr, target));
        ranges.Sort((a, b) => a.Lo.CompareTo(b.Lo));

        var segments = new List<Segment>();
        void Add(uint start, Target target)
        {
            if (segments.Count > 0 && segments[^1].Target == target)
                return;
            segments.Add(new Segment(start, target));
        }

        ulong cursor = 0;
        foreach ((uint lo, uint hi, Target target) in ranges)
        {
            if (lo < cursor)
                throw new InvalidOperationException($"overlapping syscall ranges at {lo}");
            if (lo > cursor)
                Add((uint)cursor, fallback);
            Add(lo, target);
            cursor = (ulong)hi + 1;
        }
        if (cursor <= uint.MaxValue)
            Add((uint)cursor, fallback);
        return segments;
    }

    private int EmitSearch(List<Segment> segments, int lo, int hi)
    {
        if (hi - lo == 1)
            return Resolve(segments[lo].Target);
        int mid = (lo + hi) / 2;
        int upper = EmitSearch(segments, mid, hi);
        int lower = EmitSearch(segments, lo, mid);
        return _b.Jump(Bpf.JgeK, segments[mid].Start, upper, lower);
    }

    private int Resolve(Target target) => target.IsBlock ? (int)target.Value : _b.Ret(target.Value);
}
