using Dune.Oci.Linux;
using Dune.Oci.Spec;

namespace Dune.Oci.Validation;

/// <summary>
/// Checks a config.json before anything is created, so that a bad bundle fails with a message
/// naming the field and leaves nothing behind. Warnings are for what runc also tolerates.
/// </summary>
public static class SpecValidator
{
    public static IReadOnlyList<string> Validate(RuntimeSpec spec, string bundle)
    {
        var warnings = new List<string>();
        if (string.IsNullOrEmpty(spec.OciVersion))
            throw new RuntimeError("config.json: $.ociVersion is required");
        if (!spec.OciVersion.StartsWith("1."))
            throw new RuntimeError($"config.json: $.ociVersion \"{spec.OciVersion}\" is not supported (1.x is)");
        ValidateRoot(spec, bundle);
        if (spec.Process is null) throw new RuntimeError("config.json: $.process is required to create a container");
        ValidateProcess(spec.Process, "$.process", warnings);

        var namespaces = ValidateNamespaces(spec.Linux?.Namespaces);
        bool newUser = namespaces.Contains("user");
        if ((spec.Linux?.UidMappings?.Count > 0 || spec.Linux?.GidMappings?.Count > 0) && !newUser)
            throw new RuntimeError("config.json: $.linux.uidMappings/gidMappings need a user namespace in $.linux.namespaces");
        if (newUser && !IsPathNamespace(spec.Linux!.Namespaces!, "user") &&
            (spec.Linux.UidMappings is not { Count: > 0 } || spec.Linux.GidMappings is not { Count: > 0 }))
            throw new RuntimeError("config.json: a new user namespace needs $.linux.uidMappings and $.linux.gidMappings");
        if (!string.IsNullOrEmpty(spec.Hostname) && !namespaces.Contains("uts"))
            throw new RuntimeError("config.json: $.hostname needs a new uts namespace in $.linux.namespaces");
        if (!string.IsNullOrEmpty(spec.Domainname) && !namespaces.Contains("uts"))
            throw new RuntimeError("config.json: $.domainname needs a new uts namespace in $.linux.namespaces");
        // runc's rule: masking and read-only paths would change the host's own mounts.
        if ((spec.Linux?.MaskedPaths is { Count: > 0 } || spec.Linux?.ReadonlyPaths is { Count: > 0 }) && !namespaces.Contains("mount"))
            throw new RuntimeError("config.json: $.linux.maskedPaths/readonlyPaths need a new mount namespace in $.linux.namespaces (unable to restrict sys entries without a private mount namespace)");
        if (spec.Linux?.TimeOffsets is { Count: > 0 } && !namespaces.Contains("time"))
            throw new RuntimeError("config.json: $.linux.timeOffsets needs a new time namespace in $.linux.namespaces");

        for (int i = 0; i < (spec.Mounts?.Count ?? 0); i++)
        {
            var m = spec.Mounts![i];
            if (string.IsNullOrEmpty(m.Destination) || !m.Destination.StartsWith('/'))
                throw new RuntimeError($"config.json: $.mounts[{i}].destination \"{m.Destination}\" must be an absolute path");
            var opts = MountOptionParser.Parse(m.Options);
            if (opts.IdMap || m.UidMappings is { Count: > 0 })
                throw new RuntimeError($"config.json: $.mounts[{i}]: idmapped mounts are not supported by this runtime");
            if ((opts.Bind || m.Type == "bind") && string.IsNullOrEmpty(m.Source))
                throw new RuntimeError($"config.json: $.mounts[{i}].source is required for a bind mount");
        }

        ValidateSysctl(spec.Linux?.Sysctl, namespaces);
        ValidateDevices(spec.Linux?.Devices);
        ValidateHooks(spec.Hooks);
        DuneMode.FromAnnotations(spec.Annotations, DuneMode.Native);
        DuneMode.Flag(spec.Annotations, DuneMode.TraceAnnotation, false);
        DuneMode.Flag(spec.Annotations, DuneMode.StatsAnnotation, true);
        DuneMode.Flag(spec.Annotations, DuneMode.FastcallAnnotation, true);
        DuneBackend.Requested(spec.Annotations);
        DuneMode.Flag(spec.Annotations, DuneBackend.KernelSyscallsAnnotation, true);
        return warnings;
    }

    private static void ValidateRoot(RuntimeSpec spec, string bundle)
    {
        if (spec.Root is null || string.IsNullOrEmpty(spec.Root.Path))
            throw new RuntimeError("config.json: $.root.path is required");
        var rootfs = RootfsPath(spec, bundle);
        if (!Directory.Exists(rootfs))
            throw new RuntimeError($"rootfs \"{rootfs}\" does not exist (config.json $.root.path)");
    }

    public static string RootfsPath(RuntimeSpec spec, string bundle) =>
        Path.GetFullPath(Path.Combine(bundle, spec.Root!.Path));

    public static void ValidateProcess(Process p, string where, List<string> warnings)
    {
        if (p.Args is not { Count: > 0 } || string.IsNullOrEmpty(p.Args[0]))
            throw new RuntimeError($"config.json: {where}.args must name the program to run");
        if (string.IsNullOrEmpty(p.Cwd) || !p.Cwd.StartsWith('/'))
            throw new RuntimeError($"config.json: {where}.cwd \"{p.Cwd}\" must be an absolute path");
        var seen = new HashSet<string>();
        for (int i = 0; i < (p.Rlimits?.Count ?? 0); i++)
        {
            var r = p.Rlimits![i];
            if (RlimitNames.Number(r.Type) < 0)
                throw new RuntimeError($"config.json: {where}.rlimits[{i}].type: unknown rlimit \"{r.Type}\"");
            if (!seen.Add(r.Type))
                throw new RuntimeError($"config.json: {where}.rlimits[{i}].type: \"{r.Type}\" is given twice");
            if (r.Soft > r.Hard)
                throw new RuntimeError($"config.json: {where}.rlimits[{i}]: soft limit {r.Soft} is above hard limit {r.Hard}");
        }
        foreach (var e in p.Env ?? new())
            if (!e.Contains('='))
                throw new RuntimeError($"config.json: {where}.env entry \"{e}\" is not of the form NAME=value");
        if (p.Capabilities is { } caps)
        {
            var unknown = new[] { caps.Bounding, caps.Effective, caps.Permitted, caps.Inheritable, caps.Ambient }
                .Where(l => l is not null).SelectMany(l => l!).Where(n => CapabilityNames.Number(n) < 0).Distinct();
            foreach (var u in unknown) warnings.Add($"ignoring unknown capability {u}");
        }
    }

    private static HashSet<string> ValidateNamespaces(List<LinuxNamespace>? list)
    {
        var types = new HashSet<string>();
        for (int i = 0; i < (list?.Count ?? 0); i++)
        {
            var ns = list![i];
            if (!NamespaceTypes.IsKnown(ns.Type))
                throw new RuntimeError($"config.json: $.linux.namespaces[{i}].type: unknown namespace \"{ns.Type}\"");
            if (!types.Add(ns.Type))
                throw new RuntimeError($"config.json: $.linux.namespaces[{i}]: namespace \"{ns.Type}\" is given twice");
            if (!string.IsNullOrEmpty(ns.Path) && !File.Exists(ns.Path))
                throw new RuntimeError($"config.json: $.linux.namespaces[{i}].path \"{ns.Path}\" does not exist");
        }
        return types;
    }

    private static bool IsPathNamespace(List<LinuxNamespace> list, string type) =>
        list.Any(n => n.Type == type && !string.IsNullOrEmpty(n.Path));

    private static void ValidateSysctl(Dictionary<string, string>? sysctl, HashSet<string> namespaces)
    {
        foreach (var key in sysctl?.Keys ?? Enumerable.Empty<string>())
        {
            var k = key.Replace('/', '.');
            if (k.Contains("..") || k.StartsWith('.'))
                throw new RuntimeError($"config.json: $.linux.sysctl: invalid key \"{key}\"");
            bool ok;
            if (k.StartsWith("net.")) ok = namespaces.Contains("network");
            else if (k is "kernel.msgmax" or "kernel.msgmnb" or "kernel.msgmni" or "kernel.sem" or "kernel.shmall"
                     or "kernel.shmmax" or "kernel.shmmni" or "kernel.shm_rmid_forced" || k.StartsWith("fs.mqueue."))
                ok = namespaces.Contains("ipc");
            else if (k is "kernel.hostname" or "kernel.domainname") ok = namespaces.Contains("uts");
            else ok = false;
            if (!ok)
                throw new RuntimeError($"config.json: $.linux.sysctl: \"{key}\" is not namespaced by this container's namespaces and would change the host");
        }
    }

    private static void ValidateDevices(List<LinuxDevice>? devices)
    {
        for (int i = 0; i < (devices?.Count ?? 0); i++)
        {
            var d = devices![i];
            if (string.IsNullOrEmpty(d.Path) || !d.Path.StartsWith("/dev/"))
                throw new RuntimeError($"config.json: $.linux.devices[{i}].path \"{d.Path}\" must be under /dev");
            if (d.Type is not ("c" or "b" or "u" or "p"))
                throw new RuntimeError($"config.json: $.linux.devices[{i}].type \"{d.Type}\" must be c, b, u or p");
        }
    }

    private static void ValidateHooks(Hooks? hooks)
    {
        if (hooks is null) return;
        foreach (var (kind, list) in HookKinds.All(hooks))
            for (int i = 0; i < list.Count; i++)
            {
                if (string.IsNullOrEmpty(list[i].Path) || !list[i].Path.StartsWith('/'))
                    throw new RuntimeError($"config.json: $.hooks.{kind}[{i}].path \"{list[i].Path}\" must be an absolute path");
                if (list[i].Timeout is <= 0)
                    throw new RuntimeError($"config.json: $.hooks.{kind}[{i}].timeout must be positive");
            }
    }
}
