using Dune.Oci.Cgroups;
using Dune.Oci.Cgroups.Systemd;
using Xunit;

namespace Dune.Oci.Tests.Cgroups.Systemd;

public sealed class SystemdUnitTests
{
    [Theory]
    [InlineData("system.slice", "/system.slice")]
    [InlineData("a-b.slice", "/a.slice/a-b.slice")]
    [InlineData("test-a-b.slice", "/test.slice/test-a.slice/test-a-b.slice")]
    [InlineData("kubepods-besteffort-pod1.slice", "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice")]
    [InlineData("-.slice", "")]
    public void ExpandSliceNestsByDashesAsSystemdDoes(string slice, string expected) =>
        Assert.Equal(expected, SystemdUnit.ExpandSlice(slice, slice));

    [Theory]
    [InlineData("a--b.slice")]
    [InlineData("-a.slice")]
    [InlineData("a-.slice")]
    [InlineData(".slice")]
    [InlineData("a/b.slice")]
    [InlineData("system")]
    [InlineData("system.scope")]
    public void InvalidSliceNamesAreRefused(string slice) =>
        Assert.Throws<CgroupException>(() => SystemdUnit.ExpandSlice(slice, slice + ":p:n"));

    [Fact]
    public void EmptyCgroupsPathIsADuneScopeInTheSystemSlice()
    {
        var u = SystemdUnit.Parse(null, "abc");
        Assert.Equal("system.slice", u.Slice);
        Assert.Equal("dune-abc.scope", u.Name);
        Assert.Equal("system.slice:dune:abc", u.CgroupsPath);
        Assert.Equal("/system.slice/dune-abc.scope", u.CgroupPath);
        Assert.False(u.IsSlice);
        Assert.Equal("Scope", u.Type);
    }

    [Fact]
    public void NameEndingInSliceMakesASliceAndIgnoresThePrefix()
    {
        var u = SystemdUnit.Parse("kubepods.slice:ignored:kubepods-pod1.slice", "abc");
        Assert.Equal("kubepods-pod1.slice", u.Name);
        Assert.True(u.IsSlice);
        Assert.Equal("/kubepods.slice/kubepods-pod1.slice", u.CgroupPath);
    }

    [Fact]
    public void EmptyPrefixNamesTheScopeAfterTheNameAlone() =>
        Assert.Equal("abc.scope", SystemdUnit.Parse("user.slice::abc", "x").Name);

    [Theory]
    [InlineData("/a/b")]
    [InlineData("a:b")]
    [InlineData("a.slice:b:c:d")]
    [InlineData("system.slice:p:")]
    [InlineData("system.slice:p:a/b")]
    [InlineData("system.slice:p/q:n")]
    public void MalformedFormsAreRefused(string cgroupsPath) =>
        Assert.Throws<CgroupException>(() => SystemdUnit.Parse(cgroupsPath, "x"));
}
