using System.Diagnostics;
using System.Globalization;
using System.Text;
using Dune.Oci.Seccomp;
using Dune.Oci.Spec;
using Xunit;
using Xunit.Abstractions;
using static Dune.Oci.Tests.Seccomp.SeccompTestKit;

namespace Dune.Oci.Tests.Seccomp;

/// <summary>
/// Builds libdune's policy reader and check (libdune/src/policy.c, json.c) into a host tool,
/// libdune/tests/progs/policy_verdicts.c, with cc (its absence fails the tests). No KVM, no root.
/// </summary>
public sealed class PolicyVerdictsFixture() : CompiledCTool("policy-verdicts", "-std=gnu11",
    "-I", Source("libdune", "src"), Source("libdune", "tests", "progs", "policy_verdicts.c"),
    Source("libdune", "src", "policy.c"), Source("libdune", "src", "json.c"), Source("libdune", "src", "sysnames.c"));

/// <summary>
/// One policy, two enforcers: the kernel filter the runtime compiles (run in
/// <see cref="BpfInterpreter"/>) and the Dune monitor's check of the normalized policy the
/// runtime writes for it (<see cref="MonitorPolicy"/>, read by libdune's policy.c) must give
/// the same verdict for the same (policy, syscall, arguments), for every x86_64 syscall
/// number the monitor sees.
/// </summary>
public class MonitorPolicyDifferentialTests : IClassFixture<PolicyVerdictsFixture>
{
    // The monitor's table size (libdune/src/sysnames.h SYSCALL_MAX): the numbers it checks.
    private const uint MonitorNumbers = 512;

    private readonly PolicyVerdictsFixture _fx;
    private readonly ITestOutputHelper _output;

    public MonitorPolicyDifferentialTests(PolicyVerdictsFixture fx, ITestOutputHelper output)
    {
        _fx = fx;
        _output = output;
    }

    [Fact]
    public void DockerDefaultProfileAgrees()
    {
        // Every rule of the profile: each allowed call, every personality, clone's namespace
        // mask, clone3's ENOSYS, socket without AF_VSOCK, and the EPERM default.
        int compared = AssertSameVerdicts(DefaultSeccompProfile.Create());
        Assert.True(compared > 5000, $"only {compared} cases");
    }

    [Fact]
    public void AbsentSeccompIsTheDockerDefault()
    {
        Assert.Equal(MonitorPolicy.Write(DefaultSeccompProfile.Create()), MonitorPolicy.Write(null));
    }

    [Fact]
    public void LibseccompOrderingRulesAgree()
    {
        var spec = Policy("SCMP_ACT_ERRNO",
            // two tests on one argument: ORed (runc splits the rule)
            Rule("SCMP_ACT_ALLOW", "ioctl", Arg(1, "EQ", 0x5401), Arg(1, "EQ", 0x5413)),
            // a conditional rule before an unconditional one on the same call: the unconditional decides
            Rule("SCMP_ACT_KILL_PROCESS", "kill", Arg(1, "EQ", 9)),
            Rule("SCMP_ACT_ALLOW", "kill"),
            // two unconditional rules: the first decides
            Rule("SCMP_ACT_LOG", "getpid"),
            Rule("SCMP_ACT_TRAP", "getpid"),
            // a rule equal to the default is dropped, so the later conditional rule decides
            new LinuxSyscall { Names = ["mmap"], Action = "SCMP_ACT_ERRNO", Args = [Arg(2, "EQ", 7)] },
            Rule("SCMP_ACT_ALLOW", "mmap", Arg(2, "GE", 3)),
            // masked value with bits outside the mask (libseccomp masks it)
            Rule("SCMP_ACT_ALLOW", "clone", Arg(0, "MASKED_EQ", 0xFF, 0x1_0000_0011)),
            // the same name twice in one rule, a name only other ABIs have
            Rule("SCMP_ACT_ALLOW", "read", "read", "socketcall", "write"),
            new LinuxSyscall { Names = ["mkdir"], Action = "SCMP_ACT_ERRNO", ErrnoRet = 13 },
            new LinuxSyscall { Names = ["rmdir"], Action = "SCMP_ACT_TRACE", ErrnoRet = 5 },
            Rule("SCMP_ACT_NOTIFY", "connect", Arg(2, "LT", 16)),
            Rule("SCMP_ACT_KILL_THREAD", "uname"));
        AssertSameVerdicts(spec);
    }

    [Fact]
    public void GeneratedPoliciesAgree()
    {
        var random = new Random(20261204);
        string[] names = ["read", "write", "ioctl", "fcntl", "kill", "socket", "clone", "mmap", "prctl", "personality",
            "getpid", "mkdir", "openat", "futex", "madvise", "lseek"];
        string[] actions = ["SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD",
            "SCMP_ACT_TRAP", "SCMP_ACT_LOG", "SCMP_ACT_TRACE", "SCMP_ACT_NOTIFY"];
        string[] ops = ["NE", "LT", "LE", "EQ", "GE", "GT", "MASKED_EQ"];
        ulong[] values = [0, 1, 5, 9, 0x7F, 0xFFFF_FFFF, 0x1_0000_0000, 0x1_0000_0005, 0x8000_0000_0000_0001, ulong.MaxValue];
        int total = 0;
        for (int p = 0; p < 40; p++)
        {
            var rules = new List<LinuxSyscall>();
            int count = random.Next(1, 12);
            for (int r = 0; r < count; r++)
            {
                var rule = new LinuxSyscall
                {
                    Names = Enumerable.Range(0, random.Next(1, 4)).Select(_ => names[random.Next(names.Length)]).ToList(),
                    Action = actions[random.Next(actions.Length)],
                };
                if (rule.Action is "SCMP_ACT_ERRNO" or "SCMP_ACT_TRACE" && random.Next(2) == 0)
                    rule.ErrnoRet = (uint)random.Next(1, 200);
                int conditions = random.Next(0, 4);
                if (conditions > 0)
                {
                    rule.Args = Enumerable.Range(0, conditions).Select(_ =>
                        Arg((uint)random.Next(0, 4), ops[random.Next(ops.Length)], values[random.Next(values.Length)],
                            values[random.Next(values.Length)])).ToList();
                }
                if (rule.Action == "SCMP_ACT_NOTIFY" && rule.Names.Contains("write"))
                    rule.Action = "SCMP_ACT_LOG";
                rules.Add(rule);
            }
            string defaultAction = actions[random.Next(actions.Length - 1)]; // NOTIFY cannot be the default
            var spec = Policy(defaultAction, [.. rules]);
            if (defaultAction == "SCMP_ACT_ERRNO" && random.Next(2) == 0)
                spec.DefaultErrnoRet = 38;
            total += AssertSameVerdicts(spec);
        }
        _output.WriteLine($"{total} cases in all");
        Assert.True(total > 100_000, $"only {total} cases");
    }

    // Every syscall number the monitor checks with a few plain argument vectors, and every
    // number a rule names with vectors around each of its conditions' values.
    private int AssertSameVerdicts(LinuxSeccomp spec)
    {
        SeccompProgram filter = SeccompCompiler.Compile(spec);
        string policyFile = Path.Combine(_fx.Directory, $"policy-{Guid.NewGuid():N}.json");
        File.WriteAllBytes(policyFile, MonitorPolicy.Write(spec));

        var cases = new List<(uint Nr, ulong[] Args)>();
        ulong[][] plain = [[0, 0, 0, 0, 0, 0], [1, 2, 3, 4, 5, 6], [ulong.MaxValue, 0xFFFF_FFFF, 0x1_0000_0000, 9, 40, 7]];
        for (uint nr = 0; nr < MonitorNumbers; nr++)
            cases.AddRange(plain.Select(a => (nr, a)));
        var interesting = new SortedSet<ulong> { 0, 1, 0xFFFF_FFFF, 0x1_0000_0000, ulong.MaxValue };
        var named = new SortedSet<uint>();
        foreach (LinuxSyscall rule in spec.Syscalls ?? [])
        {
            foreach (string name in rule.Names ?? [])
            {
                if (SyscallTable.TryGetNumber(SeccompArch.X86_64, name, out uint nr))
                    named.Add(nr);
            }
            foreach (LinuxSeccompArg arg in rule.Args ?? [])
            {
                foreach (ulong v in new[] { arg.Value, arg.ValueTwo, arg.Value & arg.ValueTwo, arg.Value | arg.ValueTwo })
                {
                    interesting.Add(v);
                    interesting.Add(unchecked(v - 1));
                    interesting.Add(unchecked(v + 1));
                    interesting.Add(v ^ 0x1_0000_0000);
                }
            }
        }
        ulong[] pool = interesting.ToArray();
        var random = new Random(pool.Length * 31 + named.Count);
        foreach (uint nr in named)
        {
            for (int i = 0; i < pool.Length; i++)
            {
                for (int index = 0; index < 6; index++)
                {
                    var args = new ulong[6];
                    for (int k = 0; k < 6; k++)
                        args[k] = pool[random.Next(pool.Length)];
                    args[index] = pool[i];
                    cases.Add((nr, args));
                }
            }
        }

        string[] monitor = PolicyVerdicts(policyFile, cases);
        Assert.Equal(cases.Count, monitor.Length);
        for (int i = 0; i < cases.Count; i++)
        {
            (uint nr, ulong[] args) = cases[i];
            uint kernel = BpfInterpreter.Run(filter.Filter, new SeccompData(nr, AuditArch.X86_64, 0x401000, args));
            if (Hex(kernel) != monitor[i])
            {
                Assert.Fail($"nr {nr} args [{string.Join(", ", args.Select(a => $"0x{a:x}"))}]: kernel filter {Hex(kernel)}, "
                    + $"monitor {monitor[i]}\npolicy: {File.ReadAllText(policyFile)}");
            }
        }
        _output.WriteLine($"{cases.Count} cases agree");
        return cases.Count;
    }

    private string[] PolicyVerdicts(string policyFile, List<(uint Nr, ulong[] Args)> cases)
    {
        var input = new StringBuilder();
        foreach ((uint nr, ulong[] args) in cases)
        {
            input.Append(nr.ToString(CultureInfo.InvariantCulture));
            foreach (ulong a in args)
                input.Append(" 0x").Append(a.ToString("x", CultureInfo.InvariantCulture));
            input.Append('\n');
        }
        var psi = new ProcessStartInfo(_fx.Tool, [policyFile])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using System.Diagnostics.Process p = System.Diagnostics.Process.Start(psi)!;
        Task<string> stdout = p.StandardOutput.ReadToEndAsync();
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        p.StandardInput.Write(input.ToString());
        p.StandardInput.Close();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"policy-verdicts exited {p.ExitCode}: {stderr.Result}");
        return stdout.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }
}
