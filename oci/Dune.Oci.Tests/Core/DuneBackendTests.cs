using Dune.Oci.Lifecycle;
using Dune.Oci.Plan;
using Dune.Oci.Planning;
using Dune.Oci.Spec;
using Xunit;

namespace Dune.Oci.Tests.Core;

/// <summary>
/// Which device a Dune-mode container's processes get (run.dune.backend, else /dev/dune when it
/// exists, else /dev/kvm), decided without touching the host's devices: the existence check is
/// injected.
/// </summary>
public class DuneBackendTests
{
    private static Func<string, bool> Host(params string[] devices) => p => devices.Contains(p);

    private static Dictionary<string, string> Backend(string value) => new() { [DuneBackend.Annotation] = value };

    [Fact]
    public void DefaultIsTheModuleWhenDevDuneExists()
    {
        Assert.Equal(DuneBackend.Module, DuneBackend.Choose(null, Host("/dev/dune", "/dev/kvm")));
        Assert.Equal(DuneBackend.Module, DuneBackend.Choose(new Dictionary<string, string>(), Host("/dev/dune")));
    }

    [Fact]
    public void DefaultIsKvmWithoutDevDune() =>
        Assert.Equal(DuneBackend.Kvm, DuneBackend.Choose(null, Host("/dev/kvm")));

    [Fact]
    public void TheAnnotationPicksEitherWhenBothExist()
    {
        Assert.Equal(DuneBackend.Kvm, DuneBackend.Choose(Backend("kvm"), Host("/dev/dune", "/dev/kvm")));
        Assert.Equal(DuneBackend.Module, DuneBackend.Choose(Backend("dune"), Host("/dev/dune", "/dev/kvm")));
    }

    [Fact]
    public void RequestedKvmWithoutDevKvmIsAnError()
    {
        var e = Assert.Throws<RuntimeError>(() => DuneBackend.Choose(Backend("kvm"), Host("/dev/dune")));
        Assert.Contains("run.dune.backend=kvm", e.Message);
        Assert.Contains("/dev/kvm", e.Message);
    }

    [Fact]
    public void RequestedModuleWithoutDevDuneIsAnError()
    {
        var e = Assert.Throws<RuntimeError>(() => DuneBackend.Choose(Backend("dune"), Host("/dev/kvm")));
        Assert.Contains("run.dune.backend=dune", e.Message);
        Assert.Contains("/dev/dune", e.Message);
    }

    [Fact]
    public void NeitherDeviceIsAnError()
    {
        var e = Assert.Throws<RuntimeError>(() => DuneBackend.Choose(null, Host()));
        Assert.Contains("/dev/kvm", e.Message);
        Assert.Contains("run.dune.mode=native", e.Message);
    }

    [Theory]
    [InlineData("KVM")]
    [InlineData("")]
    [InlineData("module")]
    public void UnknownBackendIsAnErrorEvenWhereTheDevicesExist(string value)
    {
        var e = Assert.Throws<RuntimeError>(() => DuneBackend.Choose(Backend(value), Host("/dev/dune", "/dev/kvm")));
        Assert.Contains($"unknown backend \"{value}\"", e.Message);
    }

    [Fact]
    public void BadAnnotationsFailValidation()
    {
        var spec = DefaultSpec.Create(false);
        var dir = Directory.CreateTempSubdirectory("dune-backend-bundle-").FullName;
        try
        {
            Directory.CreateDirectory(Path.Combine(dir, "rootfs"));
            spec.Annotations = Backend("vmx");
            Assert.Throws<RuntimeError>(() => Validation.SpecValidator.Validate(spec, dir));
            spec.Annotations = new() { [DuneBackend.KernelSyscallsAnnotation] = "off" };
            Assert.Throws<RuntimeError>(() => Validation.SpecValidator.Validate(spec, dir));
            spec.Annotations = new() { [DuneBackend.Annotation] = "dune", [DuneBackend.KernelSyscallsAnnotation] = "false" };
            Validation.SpecValidator.Validate(spec, dir);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Theory]
    [InlineData("kvm", null, "/dev/kvm", true)]
    [InlineData("dune", null, "/dev/dune", true)]
    [InlineData("dune", "false", "/dev/dune", false)]
    [InlineData("dune", "true", "/dev/dune", true)]
    public void TheChoiceReachesCreateAndExec(string backend, string? kernelSyscalls, string device, bool expected)
    {
        var dir = Directory.CreateTempSubdirectory("dune-backend-").FullName;
        try
        {
            var spec = DefaultSpec.Create(false);
            if (kernelSyscalls is not null) spec.Annotations = new() { [DuneBackend.KernelSyscallsAnnotation] = kernelSyscalls };
            var created = DuneFiles.Prepare(dir, spec, backend);
            Assert.Equal(device, created.Device);
            Assert.Equal(expected, created.KernelSyscalls);
            // `exec` reads the container's choice back from its state dir, whatever the host has now.
            var exec = DuneFiles.Existing(dir);
            Assert.Equal(device, exec.Device);
            Assert.Equal(expected, exec.KernelSyscalls);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void AContainerWithoutARecordedBackendKeepsKvm()
    {
        var dir = Directory.CreateTempSubdirectory("dune-backend-old-").FullName;
        try { Assert.Equal("/dev/kvm", DuneFiles.Existing(dir).Device); }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void DuneOpenOpensTheBackendsDeviceAndDuneExecTurnsKernelCallsOff()
    {
        var dune = new DuneProcess("/r", "/p", null, null, Device: "/dev/dune", KernelSyscalls: false);
        Assert.Equal("/dev/dune", ProcessPlanner.DuneOpen(dune).StringArg(1));
        var steps = new List<PlanStep>();
        var process = DefaultSpec.Create(false).Process!;
        ProcessPlanner.AppendExec(steps, process, null, dune);
        Assert.Equal(PlanOp.DuneExec, steps[^1].Op);
        Assert.Equal(4UL, steps[^1].U64Arg(0));
        steps.Clear();
        ProcessPlanner.AppendExec(steps, process, null, dune with { KernelSyscalls = true, Fastcall = false });
        Assert.Equal(2UL, steps[^1].U64Arg(0));
    }
}
