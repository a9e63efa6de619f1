using Dune.Oci.Linux;
using Dune.Oci.Plan;
using Dune.Oci.Seccomp;
using Dune.Oci.Spec;

namespace Dune.Oci.Planning;

/// <summary>
/// The steps that turn a prepared child into the OCI process: session and terminal, limits,
/// identity and capabilities, working directory, program lookup. Shared by create and exec.
/// </summary>
public static class ProcessPlanner
{
    public static void AppendIdentity(List<PlanStep> steps, Process p, int? consoleFd, int lastCap, bool newSession, SeccompProgram? seccomp)
    {
        if (newSession || consoleFd is not null) steps.Add(new PlanStep(PlanOp.Setsid));
        if (consoleFd is int fd)
            steps.Add(new PlanStep(PlanOp.Console, (ulong)fd, (ulong)(p.ConsoleSize?.Height ?? 0), (ulong)(p.ConsoleSize?.Width ?? 0)));
        foreach (var r in p.Rlimits ?? new())
            steps.Add(new PlanStep(PlanOp.Rlimit, (ulong)RlimitNames.Number(r.Type), r.Soft, r.Hard));
        if (p.OomScoreAdj is int adj)
            steps.Add(new PlanStep(PlanOp.WriteFile, "/proc/self/oom_score_adj", adj.ToString()));

        // Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: do it while we still have it
        // (the filter then also covers the remaining setup, as with runc).
        if (seccomp is not null && !p.NoNewPrivileges) steps.Add(SeccompStep(seccomp));
        // runc's cwd rule: entered before the user switch; where that is refused for lack of
        // permission, entered again as the container's user (who may own it), after it.
        steps.Add(new PlanStep(PlanOp.Chdir, p.Cwd, 1UL));
        var ignored = new List<string>();
        var caps = p.Capabilities ?? new Capabilities();
        steps.Add(new PlanStep(PlanOp.CapBounding, CapabilityNames.Mask(caps.Bounding, lastCap, ignored)));
        var groups = p.User.AdditionalGids ?? new List<uint>();
        var userArgs = new List<object> { (ulong)p.User.Uid, (ulong)p.User.Gid, (ulong)groups.Count };
        userArgs.AddRange(groups.Select(g => (object)(ulong)g));
        steps.Add(new PlanStep(PlanOp.SetUser, userArgs.ToArray()));
        ulong permitted = CapabilityNames.Mask(caps.Permitted, lastCap, ignored);
        ulong inheritable = CapabilityNames.Mask(caps.Inheritable, lastCap, ignored);
        // The kernel raises an ambient capability only if it is permitted and inheritable;
        // like runc, the others are left out rather than failing the container.
        ulong ambient = CapabilityNames.Mask(caps.Ambient, lastCap, ignored) & permitted & inheritable;
        steps.Add(new PlanStep(PlanOp.Caps, CapabilityNames.Mask(caps.Effective, lastCap, ignored), permitted, inheritable, ambient));
        if (p.User.Umask is uint mask) steps.Add(new PlanStep(PlanOp.Umask, (ulong)mask));
        steps.Add(new PlanStep(PlanOp.Chdir, p.Cwd, 2UL));
        steps.Add(new PlanStep(PlanOp.ResolveExec, p.Args![0], PathOf(p.Env)));
        // A filter with a listener: its descriptor goes to the seccomp agent through `dune`,
        // so it is loaded while the plan socket is still open (before READY, as runc loads it
        // before its init reports ready), not just before the exec.
        if (seccomp is { HasListener: true } && p.NoNewPrivileges)
        {
            steps.Add(new PlanStep(PlanOp.NoNewPrivs));
            steps.Add(SeccompStep(seccomp));
        }
    }

    /// <summary>The last steps before the program runs: privileges can no longer grow, then the filter.</summary>
    public static void AppendExec(List<PlanStep> steps, Process p, SeccompProgram? seccomp, DuneProcess? dune)
    {
        if (p.NoNewPrivileges && seccomp is not { HasListener: true })
        {
            steps.Add(new PlanStep(PlanOp.NoNewPrivs));
            if (seccomp is not null) steps.Add(SeccompStep(seccomp));
        }
        var args = new List<object>();
        // DUNE_EXEC flags: bit 0 trace every filtered call, bit 1 no fast calls, bit 2 no in-kernel calls.
        if (dune is not null)
            args.Add((dune.TracePath is null ? 0UL : 1UL) | (dune.Fastcall ? 0UL : 2UL) | (dune.KernelSyscalls ? 0UL : 4UL));
        args.Add((ulong)p.Args!.Count);
        args.AddRange(p.Args);
        args.AddRange(p.Env ?? new List<string>());
        steps.Add(new PlanStep(dune is null ? PlanOp.Exec : PlanOp.DuneExec, args.ToArray()));
    }

    /// <summary>DUNE_OPEN: first in a Dune-mode plan, while dune-init still sees the host's files and devices
    /// (the backend's device, /dev/kvm or /dev/dune, before the container's device cgroup applies).</summary>
    public static PlanStep DuneOpen(DuneProcess d) =>
        new(PlanOp.DuneOpen, d.DuneRunPath, d.Device, d.PolicyPath ?? "", d.StatsPath ?? "", d.TracePath ?? "");

    private static PlanStep SeccompStep(SeccompProgram s) => new(PlanOp.Seccomp, s.Filter, (ulong)s.Flags);

    /// <summary>The PATH the program is looked up in: the container's, else the usual default.</summary>
    public static string PathOf(List<string>? env)
    {
        var path = env?.LastOrDefault(e => e.StartsWith("PATH=", StringComparison.Ordinal));
        return path is null ? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" : path[5..];
    }

    /// <summary>HOME from the container's /etc/passwd when the process env lacks it (as runc does).</summary>
    public static List<string> WithHome(List<string>? env, uint uid, string rootfs)
    {
        var result = new List<string>(env ?? new List<string>());
        if (result.Any(e => e.StartsWith("HOME=", StringComparison.Ordinal))) return result;
        string home = "/";
        try
        {
            var passwd = Path.Combine(rootfs, "etc/passwd");
            var info = new FileInfo(passwd);
            if (info.Exists && info.LinkTarget is null)
                foreach (var line in File.ReadLines(passwd))
                {
                    var f = line.Split(':');
                    if (f.Length >= 6 && uint.TryParse(f[2], out var u) && u == uid && f[5].Length > 0) { home = f[5]; break; }
                }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        result.Add("HOME=" + home);
        return result;
    }
}
