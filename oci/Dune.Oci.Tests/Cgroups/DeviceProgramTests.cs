using Dune.Oci.Cgroups;
using Dune.Oci.Planning;
using Dune.Oci.Spec;
using Xunit;

namespace Dune.Oci.Tests.Cgroups;

/// <summary>
/// The cgroup v2 device program, run by an eBPF interpreter on every (device, access) probe and
/// compared with a model of the cgroup v1 devices controller fed the same rules.
/// </summary>
public sealed class DeviceProgramTests
{
    private const int M = 1, R = 2, W = 4;

    private static LinuxDeviceCgroup Allow(string? type, long? major, long? minor, string access) =>
        new() { Allow = true, Type = type, Major = major, Minor = minor, Access = access };

    private static LinuxDeviceCgroup Deny(string? type, long? major, long? minor, string access) =>
        new() { Allow = false, Type = type, Major = major, Minor = minor, Access = access };

    private static readonly LinuxDeviceCgroup DenyAll = new() { Allow = false, Access = "rwm" };
    private static readonly LinuxDeviceCgroup AllowAll = new() { Allow = true, Type = "a", Access = "rwm" };

    /// <summary>
    /// What docker 20.10 (Debian 12's docker.io) puts in config.json for `docker run busybox`, captured from a
    /// real dockerd (e2e/lib/docker-devices.json); the runtime appends its always-allowed devices.
    /// </summary>
    private static readonly LinuxDeviceCgroup[] Docker =
    {
        DenyAll,
        Allow("c", 1, 5, "rwm"), Allow("c", 1, 3, "rwm"), Allow("c", 1, 9, "rwm"), Allow("c", 1, 8, "rwm"),
        Allow("c", 5, 0, "rwm"), Allow("c", 5, 1, "rwm"), Deny("c", 10, 229, "rwm"),
    };

    /// <summary>runc's own default list (runc spec: deny all; its always-allowed devices appended).</summary>
    private static readonly LinuxDeviceCgroup[] Runc =
    {
        DenyAll,
        Allow("c", null, null, "m"), Allow("b", null, null, "m"),
        Allow("c", 1, 3, "rwm"), Allow("c", 1, 8, "rwm"), Allow("c", 1, 7, "rwm"), Allow("c", 5, 0, "rwm"),
        Allow("c", 1, 5, "rwm"), Allow("c", 1, 9, "rwm"), Allow("c", 136, null, "rwm"), Allow("c", 5, 2, "rwm"),
    };

    // Devices probed: the ones the lists name, neighbours of them, and unrelated ones.
    private static readonly (char Type, uint Major, uint Minor)[] Probes =
    {
        ('c', 1, 3), ('c', 1, 5), ('c', 1, 7), ('c', 1, 8), ('c', 1, 9), ('c', 1, 1), ('c', 1, 11), ('c', 1, 4),
        ('c', 5, 0), ('c', 5, 1), ('c', 5, 2), ('c', 10, 200), ('c', 10, 229), ('c', 10, 1), ('c', 136, 0), ('c', 136, 7),
        ('c', 4, 1), ('c', 8, 0), ('c', 0, 0), ('c', 4095, 1048575),
        ('b', 8, 0), ('b', 8, 1), ('b', 8, 16), ('b', 1, 3), ('b', 7, 0), ('b', 259, 0), ('b', 0, 0),
    };

    private static readonly int[] Accesses = { M, R, W, R | W, M | R, M | W, M | R | W };

    private static void AgreesWithTheModel(IReadOnlyList<LinuxDeviceCgroup> rules)
    {
        var program = DeviceProgram.Compile(rules);
        var model = DevicesControllerModel.Of(rules);
        Assert.False(model.IgnoredPartialRemoval, "the compiler accepted a list the kernel would apply only partly");
        foreach (var (type, major, minor) in Probes)
        foreach (int access in Accesses)
        {
            uint ctx = ((uint)access << 16) | (type == 'b' ? 1u : 2u);
            bool expected = model.Allows(type, major, minor, access);
            int got = EbpfInterpreter.Run(program.Instructions, ctx, major, minor);
            Assert.True(got == (expected ? 1 : 0),
                $"{type} {major}:{minor} access {access}: program says {(got == 1 ? "allow" : "deny")}, the devices controller {(expected ? "allow" : "deny")}; rules: {Describe(rules)}");
        }
        Assert.Equal(model.AllowsEverything, program.AllowsEverything);
    }

    private static string Describe(IEnumerable<LinuxDeviceCgroup> rules) =>
        string.Join(", ", rules.Select(r => $"{(r.Allow ? "allow" : "deny")} {r.Type ?? "a"} {r.Major?.ToString() ?? "*"}:{r.Minor?.ToString() ?? "*"} {r.Access}"));

    private static bool Allows(IReadOnlyList<LinuxDeviceCgroup> rules, char type, uint major, uint minor, int access) =>
        EbpfInterpreter.Run(DeviceProgram.Compile(rules).Instructions, ((uint)access << 16) | (type == 'b' ? 1u : 2u), major, minor) == 1;

    [Fact]
    public void DockersDefaultList()
    {
        AgreesWithTheModel(Docker);
        Assert.True(Allows(Docker, 'c', 1, 3, R | W));
        Assert.False(Allows(Docker, 'c', 10, 229, R), "fuse is denied explicitly");
        Assert.False(Allows(Docker, 'b', 8, 0, R), "/dev/sda");
        Assert.False(Allows(Docker, 'c', 1, 1, R | W), "/dev/mem");
        Assert.False(Allows(Docker, 'b', 8, 0, M), "docker's own list allows no mknod");
        // What dune applies: docker's list and the always-allowed devices after it, as runc appends its own.
        var applied = DeviceCgroupRules.For(Docker.ToList())!;
        AgreesWithTheModel(applied);
        Assert.True(Allows(applied, 'c', 136, 4, R | W), "pseudo-terminals");
        Assert.True(Allows(applied, 'b', 8, 0, M), "mknod of any node, as runc allows it");
        Assert.False(Allows(applied, 'b', 8, 0, R), "/dev/sda");
        Assert.False(Allows(applied, 'c', 10, 229, W), "fuse");
    }

    [Fact]
    public void RuncsDefaultList() => AgreesWithTheModel(Runc);

    [Fact]
    public void DunesListForADenyAllConfig()
    {
        var rules = DeviceCgroupRules.For(new List<LinuxDeviceCgroup> { DenyAll })!;
        AgreesWithTheModel(rules);
        Assert.True(Allows(rules, 'c', 1, 7, W), "/dev/full");
        Assert.True(Allows(rules, 'c', 5, 2, R | W), "/dev/ptmx");
        Assert.True(Allows(rules, 'c', 1, 11, M), "mknod of anything");
        Assert.False(Allows(rules, 'c', 1, 11, R), "a linux.devices node such as /dev/kmsg needs a rule of its own, as in runc");
        Assert.False(Allows(rules, 'c', 1, 1, R));
    }

    [Fact]
    public void DenyAllThenAllowSome()
    {
        var rules = new[] { DenyAll, Allow("c", 1, 3, "rw"), Allow("b", 8, null, "r"), Allow("c", null, 5, "m") };
        AgreesWithTheModel(rules);
        Assert.True(Allows(rules, 'c', 1, 3, R | W));
        Assert.False(Allows(rules, 'c', 1, 3, M), "not granted m");
        Assert.False(Allows(rules, 'c', 1, 3, R | M), "one access not granted refuses the whole request");
        Assert.True(Allows(rules, 'b', 8, 17, R));
        Assert.False(Allows(rules, 'b', 8, 17, W));
        Assert.True(Allows(rules, 'c', 77, 5, M), "wildcard major");
        Assert.False(Allows(rules, 'b', 77, 5, M), "type matters");
    }

    [Fact]
    public void AllowAllThenDenySome()
    {
        var rules = new[] { AllowAll, Deny("c", 1, 1, "rwm"), Deny("b", null, null, "w"), Deny("c", 10, null, "r") };
        AgreesWithTheModel(rules);
        Assert.False(Allows(rules, 'c', 1, 1, R));
        Assert.True(Allows(rules, 'c', 1, 3, R | W));
        Assert.False(Allows(rules, 'b', 8, 0, W));
        Assert.False(Allows(rules, 'b', 8, 0, R | W), "a request sharing one denied access is denied, as v1 does");
        Assert.True(Allows(rules, 'b', 8, 0, R));
        Assert.False(Allows(rules, 'c', 10, 200, R | W));
        Assert.True(Allows(rules, 'c', 10, 200, W));
    }

    [Fact]
    public void ATypeRuleResetsEverythingBeforeIt()
    {
        var rules = new[] { DenyAll, Allow("c", 1, 3, "rwm"), AllowAll, Deny("c", 1, 5, "rwm"), DenyAll, Allow("c", 1, 9, "r") };
        AgreesWithTheModel(rules);
        Assert.False(Allows(rules, 'c', 1, 3, R), "reset by the last deny-all");
        Assert.True(Allows(rules, 'c', 1, 9, R));
        // A type-"a" rule resets whatever numbers and access it gives, as the devices controller reads "a".
        var odd = new[] { DenyAll, Allow("c", 1, 3, "rwm"), Deny("a", 1, 3, "r") };
        AgreesWithTheModel(odd);
        Assert.False(Allows(odd, 'c', 1, 3, W));
    }

    [Fact]
    public void LaterRulesOverrideEarlierOnes()
    {
        var rules = new[] { DenyAll, Allow("c", 1, 3, "rwm"), Deny("c", 1, 3, "w"), Allow("c", 1, 5, "r"), Allow("c", 1, 5, "w"), Deny("c", 1, 9, "rwm") };
        AgreesWithTheModel(rules);
        Assert.True(Allows(rules, 'c', 1, 3, R | M));
        Assert.False(Allows(rules, 'c', 1, 3, W));
        Assert.True(Allows(rules, 'c', 1, 5, R | W), "accesses of one device add up");
        Assert.False(Allows(rules, 'c', 1, 9, R));
    }

    [Fact]
    public void WildcardMajorAndMinorAreMinusOneOrAbsent()
    {
        var minusOne = new[] { DenyAll, Allow("c", -1, 3, "r"), Allow("b", 8, -1, "r") };
        var absent = new[] { DenyAll, Allow("c", null, 3, "r"), Allow("b", 8, null, "r") };
        AgreesWithTheModel(minusOne);
        Assert.Equal(DeviceProgram.Compile(minusOne).Instructions, DeviceProgram.Compile(absent).Instructions);
        Assert.True(Allows(minusOne, 'c', 200, 3, R));
        Assert.False(Allows(minusOne, 'c', 200, 4, R));
    }

    [Fact]
    public void RulesWithoutALeadingAStartFromDenyAll()
    {
        // As runc: the list is replayed from "deny everything" (dune's v1 path writes "a" to devices.deny first too).
        var rules = new[] { Allow("c", 1, 3, "rwm") };
        AgreesWithTheModel(rules);
        Assert.False(Allows(rules, 'c', 1, 5, R));
    }

    [Fact]
    public void EverythingAllowedNeedsNoProgram()
    {
        Assert.True(DeviceProgram.Compile(new[] { AllowAll }).AllowsEverything);
        Assert.True(DeviceProgram.Compile(new[] { DenyAll, Allow("c", 1, 3, "rwm"), AllowAll }).AllowsEverything);
        Assert.True(DeviceProgram.Compile(new[] { AllowAll, Allow("c", 1, 3, "rwm") }).AllowsEverything, "an allow in allow-all mode changes nothing");
        Assert.False(DeviceProgram.Compile(new[] { AllowAll, Deny("c", 1, 3, "w") }).AllowsEverything);
        Assert.False(DeviceProgram.Compile(new[] { DenyAll }).AllowsEverything);
    }

    [Fact]
    public void MajorAndMinorCompareAsFullU32()
    {
        var rules = new[] { DenyAll, Allow("c", 4294967295, 2147483648, "rwm") };
        var program = DeviceProgram.Compile(rules).Instructions;
        Assert.Equal(1, EbpfInterpreter.Run(program, (uint)(R << 16) | 2, 4294967295, 2147483648));
        Assert.Equal(0, EbpfInterpreter.Run(program, (uint)(R << 16) | 2, 2147483647, 2147483648));
    }

    [Fact]
    public void PunchingAHoleInAWildcardRuleIsRefused()
    {
        // cgroup v1 would keep "c *:* rwm" and silently not deny 1:3; runc refuses this list too.
        var e = Assert.Throws<CgroupException>(() => DeviceProgram.Compile(new[] { DenyAll, Allow("c", null, null, "rwm"), Deny("c", 1, 3, "r") }));
        Assert.Contains("linux.resources.devices[2]", e.Message);
        Assert.Contains("c *:* rwm", e.Message);
        Assert.True(DevicesControllerModel.Of(new[] { DenyAll, Allow("c", null, null, "rwm"), Deny("c", 1, 3, "r") }).IgnoredPartialRemoval);
        // Accesses the wider rule does not hold can go.
        AgreesWithTheModel(new[] { DenyAll, Allow("c", null, null, "m"), Allow("c", 1, 3, "rwm"), Deny("c", 1, 3, "rw") });
    }

    [Theory]
    [InlineData("p", "rwm", "invalid device type \"p\"")]
    [InlineData("u", "rwm", "invalid device type \"u\"")]
    public void BadRulesAreRefused(string type, string access, string message)
    {
        var e = Assert.Throws<CgroupException>(() => DeviceProgram.Compile(new[] { DenyAll, Allow(type, 1, 3, access) }));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void NegativeNumbersOtherThanMinusOneAreRefused() =>
        Assert.Throws<CgroupException>(() => DeviceProgram.Compile(new[] { DenyAll, Allow("c", -2, 3, "r") }));

    [Fact]
    public void UnknownAccessLettersAreIgnoredWithAWarningAsRuncIgnoresThem()
    {
        // runc's "update devices [minimal transition rules]" test creates a container with a deny rule whose
        // access is "rwa", and runc keeps only the r, w and m of any access string (allow rules too).
        var warnings = new List<string>();
        var rules = new[] { DenyAll, Allow("c", 1, 11, "rwm"), Deny("c", 1, 11, "rwa"), Allow("b", 8, 0, "rx") };
        var program = DeviceProgram.Compile(rules, warnings.Add);
        Assert.Contains(warnings, w => w.Contains("linux.resources.devices[2]") && w.Contains("\"rwa\"") && w.Contains("ignoring \"a\""));
        Assert.Contains(warnings, w => w.Contains("linux.resources.devices[3]") && w.Contains("ignoring \"x\""));
        Assert.Equal(0, EbpfInterpreter.Run(program.Instructions, (uint)(R << 16) | 2, 1, 11));
        Assert.Equal(1, EbpfInterpreter.Run(program.Instructions, (uint)(M << 16) | 2, 1, 11));
        Assert.Equal(1, EbpfInterpreter.Run(program.Instructions, (uint)(R << 16) | 1, 8, 0));
        Assert.Equal(0, EbpfInterpreter.Run(program.Instructions, (uint)(W << 16) | 1, 8, 0));
    }

    [Fact]
    public void RandomListsAgreeWithTheModel()
    {
        var rng = new Random(20261204);
        string[] types = { "c", "c", "b", "a" };
        long?[] majors = { null, -1, 1, 1, 5, 8, 10, 136 };
        long?[] minors = { null, -1, 0, 1, 3, 5, 9, 229 };
        string[] accesses = { "r", "w", "m", "rw", "rm", "wm", "rwm" };
        int checkedLists = 0, refused = 0;
        for (int n = 0; n < 3000; n++)
        {
            var rules = new List<LinuxDeviceCgroup>();
            int count = rng.Next(1, 9);
            for (int i = 0; i < count; i++)
            {
                string type = types[rng.Next(types.Length)];
                // Type-"a" rules are rarer: they erase everything before them.
                if (type == "a" && rng.Next(3) != 0) type = "c";
                rules.Add(new LinuxDeviceCgroup
                {
                    Allow = rng.Next(2) == 0, Type = type, Major = majors[rng.Next(majors.Length)],
                    Minor = minors[rng.Next(minors.Length)], Access = accesses[rng.Next(accesses.Length)],
                });
            }
            var model = DevicesControllerModel.Of(rules);
            if (model.IgnoredPartialRemoval)
            {
                // The kernel would apply this list only partly: the compiler must refuse it.
                Assert.Throws<CgroupException>(() => DeviceProgram.Compile(rules));
                refused++;
                continue;
            }
            AgreesWithTheModel(rules);
            checkedLists++;
        }
        Assert.True(checkedLists > 2000 && refused > 50, $"{checkedLists} lists compared, {refused} refused");
    }
}
