namespace Dune.Oci.Planning;

/// <summary>
/// How a container's processes become Dune processes: dune-run (libdune's sandbox) and the
/// files it gets as fds before dune-init leaves the host's view (docs/setup-plan.md, DUNE_OPEN).
/// </summary>
/// <param name="DuneRunPath">the static dune-run binary on the host</param>
/// <param name="PolicyPath">the monitor's policy (Seccomp/MonitorPolicy.cs form); null only for a container made before it was always written</param>
/// <param name="StatsPath">the container's shared counters file (state dir)</param>
/// <param name="TracePath">where filtered calls are logged (run.dune.trace), or null</param>
/// <param name="Fastcall">false: dune-run --no-fastcall (run.dune.fastcall=false)</param>
/// <param name="Device">the backend's device dune-init opens for dune-run (Spec/DuneBackend.cs): /dev/kvm or /dev/dune</param>
/// <param name="KernelSyscalls">false: dune-run --no-kernel-syscalls (run.dune.kernel-syscalls=false)</param>
public sealed record DuneProcess(string DuneRunPath, string? PolicyPath, string? StatsPath, string? TracePath, bool Fastcall = true,
    string Device = Spec.DuneBackend.KvmDevice, bool KernelSyscalls = true)
{
    /// <summary>Where dune-run lives: beside the dune binary (DUNE_RUN overrides, for tests).</summary>
    public static string DefaultRunPath =>
        Environment.GetEnvironmentVariable("DUNE_RUN") is { Length: > 0 } p ? p : Path.Combine(AppContext.BaseDirectory, "dune-run");
}
