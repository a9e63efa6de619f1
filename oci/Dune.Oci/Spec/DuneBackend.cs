namespace Dune.Oci.Spec;

/// <summary>
/// The hardware backend under a Dune-mode container's processes: KVM (/dev/kvm) or the Dune
/// kernel module (/dev/dune, kmod/), which can also perform allowed system calls in the kernel.
/// Chosen per container by the annotation run.dune.backend, else as dune-run chooses by itself:
/// the module when /dev/dune exists, else KVM. dune-init opens the chosen device and hands it
/// to dune-run (--kvm-fd), which takes the module's backend for any device that is not KVM's.
/// </summary>
public static class DuneBackend
{
    public const string Annotation = "run.dune.backend";
    public const string Kvm = "kvm";
    public const string Module = "dune";
    public const string KvmDevice = "/dev/kvm";
    public const string ModuleDevice = "/dev/dune";

    /// <summary>"false": with the Dune module every system call exits to the monitor (dune-run
    /// --no-kernel-syscalls); default "true". KVM has no in-kernel path: no effect there.</summary>
    public const string KernelSyscallsAnnotation = "run.dune.kernel-syscalls";

    public static string DeviceOf(string backend) => backend == Module ? ModuleDevice : KvmDevice;

    /// <summary>The annotation's backend (checked), or null when it is not set.</summary>
    public static string? Requested(IReadOnlyDictionary<string, string>? annotations)
    {
        if (annotations is null || !annotations.TryGetValue(Annotation, out var v)) return null;
        return v is Kvm or Module ? v
            : throw new RuntimeError($"annotation {Annotation}: unknown backend \"{v}\" (use \"{Kvm}\" or \"{Module}\")");
    }

    /// <summary>
    /// The backend of a new Dune-mode container; <paramref name="deviceExists"/> tells whether a
    /// device node is there (File.Exists on the host; injected by tests). Fails, with the reason,
    /// when the device of the requested (or default) backend is missing.
    /// </summary>
    public static string Choose(IReadOnlyDictionary<string, string>? annotations, Func<string, bool> deviceExists)
    {
        var requested = Requested(annotations);
        var backend = requested ?? (deviceExists(ModuleDevice) ? Module : Kvm);
        if (deviceExists(DeviceOf(backend))) return backend;
        if (requested == Module)
            throw new RuntimeError($"annotation {Annotation}={Module}: Dune mode on the Dune kernel module needs {ModuleDevice}, "
                + $"which this host does not have (load dune.ko: kmod/README.md), or use {Annotation}={Kvm}");
        if (requested == Kvm)
            throw new RuntimeError($"annotation {Annotation}={Kvm}: Dune mode on KVM needs {KvmDevice}, which this host does not have "
                + "(kvm_amd or kvm_intel not loaded)");
        throw new RuntimeError($"Dune mode needs {KvmDevice} (hardware virtualization through KVM) or {ModuleDevice} (the Dune kernel module), "
            + $"and this host has neither; use --mode {DuneMode.Native} or annotation {DuneMode.Annotation}={DuneMode.Native}");
    }
}
