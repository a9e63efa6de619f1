using Dune.Oci.Spec;
using Dune.Oci.Validation;
using Xunit;

namespace Dune.Oci.Tests.Core;

public sealed class SpecValidatorTests : IDisposable
{
    private readonly string _bundle = Directory.CreateTempSubdirectory("dune-validator").FullName;

    public SpecValidatorTests() => Directory.CreateDirectory(Path.Combine(_bundle, "rootfs"));

    public void Dispose() => Directory.Delete(_bundle, true);

    private static RuntimeSpec Valid()
    {
        var spec = DefaultSpec.Create(false);
        spec.Process!.Terminal = false;
        return spec;
    }

    private string Error(Action<RuntimeSpec> change)
    {
        var spec = Valid();
        change(spec);
        return Assert.Throws<RuntimeError>(() => SpecValidator.Validate(spec, _bundle)).Message;
    }

    [Fact]
    public void DefaultSpecIsValid() => Assert.Empty(SpecValidator.Validate(Valid(), _bundle));

    [Fact]
    public void MissingRootfsNamesThePath()
    {
        var msg = Error(s => s.Root!.Path = "nope");
        Assert.Contains($"rootfs \"{Path.Combine(_bundle, "nope")}\" does not exist", msg);
    }

    [Fact]
    public void EmptyArgsAreRejected() => Assert.Contains("$.process.args", Error(s => s.Process!.Args = new()));

    [Fact]
    public void RelativeCwdIsRejected() => Assert.Contains("$.process.cwd", Error(s => s.Process!.Cwd = "tmp"));

    [Fact]
    public void UnknownNamespaceIsRejected() =>
        Assert.Contains("unknown namespace \"bogus\"", Error(s => s.Linux!.Namespaces!.Add(new LinuxNamespace { Type = "bogus" })));

    [Fact]
    public void DuplicateNamespaceIsRejected() =>
        Assert.Contains("given twice", Error(s => s.Linux!.Namespaces!.Add(new LinuxNamespace { Type = "pid" })));

    [Fact]
    public void HostnameNeedsUtsNamespace() =>
        Assert.Contains("uts namespace", Error(s => s.Linux!.Namespaces!.RemoveAll(n => n.Type == "uts")));

    [Fact]
    public void HostSysctlIsRejected() =>
        Assert.Contains("kernel.panic", Error(s => s.Linux!.Sysctl = new() { ["kernel.panic"] = "1" }));

    [Fact]
    public void NetSysctlNeedsNetworkNamespace()
    {
        Assert.Contains("net.ipv4.ip_forward", Error(s =>
        {
            s.Linux!.Namespaces!.RemoveAll(n => n.Type == "network");
            s.Linux.Sysctl = new() { ["net.ipv4.ip_forward"] = "1" };
        }));
        var ok = Valid();
        ok.Linux!.Sysctl = new() { ["net.ipv4.ip_forward"] = "1" };
        SpecValidator.Validate(ok, _bundle);
    }

    [Fact]
    public void UnknownRlimitIsRejected() =>
        Assert.Contains("RLIMIT_BOGUS", Error(s => s.Process!.Rlimits!.Add(new Rlimit { Type = "RLIMIT_BOGUS" })));

    [Fact]
    public void SoftAboveHardIsRejected() =>
        Assert.Contains("soft limit", Error(s => s.Process!.Rlimits![0].Soft = 5000));

    [Fact]
    public void RelativeHookPathIsRejected() =>
        Assert.Contains("$.hooks.poststart[0].path", Error(s => s.Hooks = new Hooks { Poststart = new() { new Hook { Path = "x" } } }));

    [Fact]
    public void UserMappingsNeedUserNamespace() =>
        Assert.Contains("user namespace", Error(s => s.Linux!.UidMappings = new() { new IdMapping { Size = 1 } }));

    [Fact]
    public void UnknownModeAnnotationIsRejected() =>
        Assert.Contains(DuneMode.Annotation, Error(s => s.Annotations = new() { [DuneMode.Annotation] = "fast" }));

    [Fact]
    public void UnknownCapabilityIsAWarning()
    {
        var spec = Valid();
        spec.Process!.Capabilities!.Bounding!.Add("CAP_BOGUS");
        Assert.Contains("ignoring unknown capability CAP_BOGUS", SpecValidator.Validate(spec, _bundle));
    }

    [Theory]
    [InlineData("")]
    [InlineData("..")]
    [InlineData("a/b")]
    [InlineData("a b")]
    public void InvalidContainerIds(string id) =>
        Assert.Contains("invalid container id", Assert.Throws<RuntimeError>(() => ContainerId.Validate(id)).Message);

    [Theory]
    [InlineData("abc")]
    [InlineData("a.b-c_d+e")]
    public void ValidContainerIds(string id) => ContainerId.Validate(id);
}
