using Dune.Oci.Linux;

namespace Dune.Oci.Spec;

/// <summary>What this build of dune supports, for `dune features`.</summary>
public static class FeaturesDocument
{
    public static Features Build() => new()
    {
        Hooks = new() { HookKinds.Prestart, HookKinds.CreateRuntime, HookKinds.CreateContainer, HookKinds.StartContainer, HookKinds.Poststart, HookKinds.Poststop },
        MountOptions = MountOptionParser.KnownOptions.OrderBy(s => s, StringComparer.Ordinal).ToList(),
        Linux = new LinuxFeatures
        {
            Namespaces = NamespaceTypes.JoinOrder.ToList(),
            Capabilities = CapabilityNames.All.ToList(),
            Cgroup = new CgroupFeatures { V1 = true, V2 = true, Systemd = false, SystemdUser = false },
            Seccomp = new SeccompFeatures
            {
                Enabled = true,
                Actions = Seccomp.SeccompNames.SupportedActions(KernelActions()).ToList(),
                Operators = Seccomp.SeccompNames.Operators.ToList(),
                Archs = Seccomp.SeccompNames.Architectures.ToList(),
                KnownFlags = Seccomp.SeccompNames.Flags.ToList(),
                SupportedFlags = Seccomp.SeccompNames.SupportedFlags(Interop.SeccompFlagsProbe.KernelAccepts).ToList(),
            },
        },
        Annotations = new()
        {
            [DuneMode.Annotation] = $"process mode: \"{DuneMode.Dune}\" (the default: Dune processes under the libdune monitor, which enforces linux.seccomp with the actions, operators and architectures listed under linux.seccomp) or \"{DuneMode.Native}\" (plain Linux processes, kernel seccomp only)",
            [DuneMode.TraceAnnotation] = "\"true\": the Dune monitor logs every filtered system call to dune-trace.log in the container's state directory",
            [DuneMode.FastcallAnnotation] = "\"false\": the Dune monitor answers no system call inside the guest (default \"true\": getpid, when the policy allows it unconditionally, is answered without an exit; libdune/README.md, Fast calls)",
            [DuneBackend.Annotation] = $"the Dune processes' hardware backend: \"{DuneBackend.Kvm}\" ({DuneBackend.KvmDevice}) or \"{DuneBackend.Module}\" (the Dune kernel module, {DuneBackend.ModuleDevice}); default: the module when {DuneBackend.ModuleDevice} exists, else KVM; in `dune events --stats` as dune.backend",
            [DuneBackend.KernelSyscallsAnnotation] = "\"false\": with the Dune kernel module, every system call exits to the monitor (default \"true\": calls the policy allows unconditionally are performed in the kernel, counted as dune.kernel_syscalls in `dune events --stats`); no effect on KVM",
            [DuneMode.StatsAnnotation] = "\"false\": no per-container Dune counters (default \"true\": exits, syscalls forwarded and denied by name, page faults, vCPUs; in `dune events --stats` and dune-stats in the state directory)",
        },
    };

    // The seccomp actions the running kernel knows (seccomp(2), /proc/sys/kernel/seccomp).
    private static string KernelActions()
    {
        try { return File.ReadAllText("/proc/sys/kernel/seccomp/actions_avail"); }
        catch (IOException) { return ""; }
        catch (UnauthorizedAccessException) { return ""; }
    }
}
