using Dune.Interop;
using Dune.Oci.Planning;
using Dune.Oci.Seccomp;
using Dune.Oci.Spec;
using Tmds.Linux;

namespace Dune.Oci.Lifecycle;

/// <summary>
/// The files of a Dune-mode container in its state dir: the monitor's policy
/// (dune-policy.json: linux.seccomp, or Docker's default profile without it, in the
/// normalized form of <see cref="MonitorPolicy"/>), the shared counters (dune-stats) and the
/// trace of filtered calls (dune-trace.log, with run.dune.trace=true); dune-backend holds the
/// backend chosen at create ("kvm" or "dune", <see cref="DuneBackend"/>), so that `exec` uses the
/// same device; dune-no-fastcall and dune-no-kernel-syscalls, empty, mark a container whose
/// processes run with fast calls (run.dune.fastcall=false) or in-kernel calls
/// (run.dune.kernel-syscalls=false) off.
/// </summary>
public static class DuneFiles
{
    public const string Policy = "dune-policy.json", Stats = "dune-stats", Trace = "dune-trace.log",
        NoFastcall = "dune-no-fastcall", Backend = "dune-backend", NoKernelSyscalls = "dune-no-kernel-syscalls";

    /// <summary>Fails early, with the reason, where Dune processes cannot run; else the backend
    /// (<see cref="DuneBackend.Choose"/>), before anything of the container exists.</summary>
    public static string CheckHost(RuntimeSpec spec)
    {
        if (!File.Exists(DuneProcess.DefaultRunPath))
            throw new RuntimeError($"Dune mode needs dune-run, which is not at {DuneProcess.DefaultRunPath} (make build), or use --mode {DuneMode.Native}");
        var backend = DuneBackend.Choose(spec.Annotations, File.Exists);
        CheckOpens(backend);
        return backend;
    }

    /// <summary>
    /// A device node can exist without its driver (a static /dev/kvm made from modules.devname
    /// while kvm_amd/kvm_intel are not loaded): opened as dune-init will open it, closed again,
    /// so that such a host fails here and not in dune-init after the container's state exists.
    /// </summary>
    private static void CheckOpens(string backend)
    {
        var device = DuneBackend.DeviceOf(backend);
        int fd = PathCalls.Open(device, LibC.O_RDWR | LibC.O_CLOEXEC);
        if (fd >= 0)
        {
            LibC.close(fd);
            return;
        }
        int errno = NativeException.LastErrno;
        string why = errno == LibC.ENXIO || errno == LibC.ENODEV
            ? $" (the node exists but its driver is not loaded: {(backend == DuneBackend.Module ? "dune.ko" : "kvm_amd or kvm_intel")})"
            : "";
        throw RuntimeError.OfErrno($"Dune mode on the {backend} backend ({DuneBackend.Annotation}): cannot open {device}{why}", errno);
    }

    public static DuneProcess Prepare(string stateDir, RuntimeSpec spec, string backend)
    {
        string? stats = null, trace = null;
        // dune-run has no policy of its own: the one the kernel filter is compiled from, always.
        string policy = Path.Combine(stateDir, Policy);
        try { File.WriteAllBytes(policy, MonitorPolicy.Write(spec.Linux?.Seccomp)); }
        catch (SeccompException e) { throw new RuntimeError($"config.json: {e.Message}"); }
        if (DuneMode.Flag(spec.Annotations, DuneMode.StatsAnnotation, true))
        {
            stats = Path.Combine(stateDir, Stats);
            File.WriteAllBytes(stats, Array.Empty<byte>());
        }
        if (DuneMode.Flag(spec.Annotations, DuneMode.TraceAnnotation, false))
        {
            trace = Path.Combine(stateDir, Trace);
            File.WriteAllBytes(trace, Array.Empty<byte>());
        }
        bool fastcall = DuneMode.Flag(spec.Annotations, DuneMode.FastcallAnnotation, true);
        if (!fastcall) File.WriteAllBytes(Path.Combine(stateDir, NoFastcall), Array.Empty<byte>());
        File.WriteAllText(Path.Combine(stateDir, Backend), backend);
        bool kernelSyscalls = DuneMode.Flag(spec.Annotations, DuneBackend.KernelSyscallsAnnotation, true);
        if (!kernelSyscalls) File.WriteAllBytes(Path.Combine(stateDir, NoKernelSyscalls), Array.Empty<byte>());
        return new DuneProcess(DuneProcess.DefaultRunPath, policy, stats, trace, fastcall, DuneBackend.DeviceOf(backend), kernelSyscalls);
    }

    /// <summary>
    /// The container's Dune counters as JSON (exits, syscalls forwarded and denied by name,
    /// page faults, vCPUs, processes), or null for a container without them. dune-run owns
    /// the file's layout, so it is the one that reads it.
    /// </summary>
    public static string? ReadStats(string stateDir)
    {
        var file = Path.Combine(stateDir, Stats);
        if (!File.Exists(file)) return null;
        var (status, output) = Interop.CommandOutput.Run(DuneProcess.DefaultRunPath, new[] { "dune-run", "--print-stats", file });
        if (status != 0) throw new RuntimeError($"cannot read the Dune counters in {file} (dune-run exited with {status})");
        return output.Trim();
    }

    /// <summary>The same files for a process `exec` adds to the container.</summary>
    public static DuneProcess Existing(string stateDir)
    {
        string? Have(string name) => File.Exists(Path.Combine(stateDir, name)) ? Path.Combine(stateDir, name) : null;
        // A container made before the backend was recorded ran on KVM.
        var backend = Have(Backend) is { } b ? File.ReadAllText(b).Trim() : DuneBackend.Kvm;
        return new DuneProcess(DuneProcess.DefaultRunPath, Have(Policy), Have(Stats), Have(Trace), Have(NoFastcall) is null,
            DuneBackend.DeviceOf(backend), Have(NoKernelSyscalls) is null);
    }
}
