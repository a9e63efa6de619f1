using Dune.Oci.Lifecycle;
using Xunit;

namespace Dune.Oci.Tests.Core;

/// <summary>`exec --cgroup` arguments, read as runc 1.1 reads them.</summary>
public class SubCgroupPathsTests
{
    [Fact]
    public void NoArgumentsMeanNoSubCgroups() => Assert.Empty(SubCgroupPaths.Parse(Array.Empty<string>()));

    [Fact]
    public void ABarePathAppliesToEveryHierarchy()
    {
        var paths = SubCgroupPaths.Parse(new[] { "sub/leaf" });
        Assert.Equal("sub/leaf", Assert.Single(paths, p => p.Key == "").Value);
    }

    [Fact]
    public void ControllerPrefixesMayListSeveralControllers()
    {
        var paths = SubCgroupPaths.Parse(new[] { "cpu,cpuacct:a", "memory:b" });
        Assert.Equal(new Dictionary<string, string> { ["cpu"] = "a", ["cpuacct"] = "a", ["memory"] = "b" }, paths);
    }

    [Theory]
    [InlineData("missing <controller>: prefix", "a", "b")]
    [InlineData("missing <controller>: prefix", "memory:a", "b")]
    [InlineData("empty <controller> prefix", ":a")]
    [InlineData("empty <controller> prefix", "cpu,:a")]
    [InlineData("controller memory specified multiple times", "memory:a", "memory,pids:b")]
    public void MalformedArgumentsAreRefused(string expected, params string[] args)
    {
        var e = Assert.Throws<RuntimeError>(() => SubCgroupPaths.Parse(args));
        Assert.Contains(expected, e.Message);
    }
}
