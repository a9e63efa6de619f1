using Dune.Oci.Cgroups;
using Dune.Oci.Spec;
using Xunit;

namespace Dune.Oci.Tests.Cgroups;

public sealed class V1DeviceTransitionTests
{
    private static EffectiveDeviceRules Rules(params LinuxDeviceCgroup[] rules) => EffectiveDeviceRules.Replay(rules);

    private static LinuxDeviceCgroup Allow(string type, long? major, long? minor, string access) =>
        new() { Allow = true, Type = type, Major = major, Minor = minor, Access = access };

    private static readonly LinuxDeviceCgroup DenyAll = new() { Allow = false, Access = "rwm" };

    [Fact]
    public void FromAllowEverythingTheResetComesFirst()
    {
        var writes = V1DeviceTransition.Writes("a *:* rwm\n", Rules(DenyAll, Allow("c", 1, 3, "rwm"), Allow("b", 8, null, "r")));
        Assert.Equal(new[] { ("devices.deny", "a"), ("devices.allow", "c 1:3 rwm"), ("devices.allow", "b 8:* r") }, writes);
    }

    [Fact]
    public void AnUpdateWritesOnlyWhatChangesSoSharedDevicesNeverBlink()
    {
        string list = "c 1:3 rwm\nc 1:5 rwm\nb 8:* r\n";
        var writes = V1DeviceTransition.Writes(list, Rules(DenyAll, Allow("c", 1, 3, "rwm"), Allow("c", 1, 5, "r"), Allow("c", 1, 9, "rw")));
        Assert.Equal(new[] { ("devices.deny", "c 1:5 wm"), ("devices.deny", "b 8:* r"), ("devices.allow", "c 1:9 rw") }, writes);
        Assert.Empty(V1DeviceTransition.Writes(list, Rules(DenyAll, Allow("c", 1, 3, "rwm"), Allow("c", 1, 5, "rwm"), Allow("b", 8, null, "r"))));
    }

    [Fact]
    public void ToAllowByDefault()
    {
        var writes = V1DeviceTransition.Writes("c 1:3 rwm\n", Rules(new LinuxDeviceCgroup { Allow = true, Type = "a", Access = "rwm" },
            new LinuxDeviceCgroup { Allow = false, Type = "c", Major = 1, Minor = 1, Access = "rw" }));
        Assert.Equal(new[] { ("devices.allow", "a"), ("devices.deny", "c 1:1 rw") }, writes);
    }

    [Fact]
    public void UnreadableListIsAnError() =>
        Assert.Throws<CgroupException>(() => V1DeviceTransition.Writes("x 1:3 rwm\n", Rules(DenyAll)));
}
