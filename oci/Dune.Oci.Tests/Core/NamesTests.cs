using Dune.Oci.Linux;
using Xunit;

namespace Dune.Oci.Tests.Core;

public class NamesTests
{
    [Theory]
    [InlineData("TERM", 15)]
    [InlineData("SIGKILL", 9)]
    [InlineData("kill", 9)]
    [InlineData("9", 9)]
    [InlineData("SIGRTMIN+2", 36)]
    [InlineData("RTMAX-1", 63)]
    [InlineData("usr1", 10)]
    public void ParsesSignal(string text, int number) => Assert.Equal(number, SignalNames.Parse(text));

    [Theory]
    [InlineData("SIGBOGUS")]
    [InlineData("0")]
    [InlineData("65")]
    public void BadSignals(string text) => Assert.Throws<RuntimeError>(() => SignalNames.Parse(text));

    [Fact]
    public void CapabilityMaskLeavesOutUnknownAndTooNew()
    {
        var ignored = new List<string>();
        ulong mask = CapabilityNames.Mask(new[] { "CAP_CHOWN", "CAP_KILL", "CAP_BOGUS", "CAP_CHECKPOINT_RESTORE" }, 39, ignored);
        Assert.Equal((1UL << 0) | (1UL << 5), mask);
        Assert.Equal(new[] { "CAP_BOGUS", "CAP_CHECKPOINT_RESTORE" }, ignored);
    }

    [Fact]
    public void MountOptionsSplitIntoFlagsPropagationAndData()
    {
        var o = MountOptionParser.Parse(new[] { "nosuid", "ro", "rw", "noexec", "rslave", "mode=755", "size=64k", "rbind" });
        Assert.Equal(MountFlags.NoSuid | MountFlags.NoExec, o.Flags);
        Assert.Equal(new[] { MountFlags.Slave | MountFlags.Rec }, o.Propagation);
        Assert.Equal("mode=755,size=64k", o.Data);
        Assert.True(o.Bind);
        Assert.True(o.RecursiveBind);
    }

    [Fact]
    public void RootPropagationDefaultsToRecursiveSlave() =>
        Assert.Equal(MountFlags.Slave | MountFlags.Rec, MountOptionParser.RootPropagation(null));

    [Fact]
    public void BadRootPropagationIsAnError() =>
        Assert.Throws<RuntimeError>(() => MountOptionParser.RootPropagation("sideways"));

    [Theory]
    [InlineData("1024", 1024)]
    [InlineData("64k", 65536)]
    [InlineData("512m", 536870912)]
    [InlineData("2g", 2147483648)]
    [InlineData("-1", -1)]
    public void ByteSizes(string text, long value) => Assert.Equal(value, Dune.Oci.Spec.ByteSize.Parse(text, "--memory"));
}
