using Dune.Oci.Seccomp;
using Dune.Oci.Spec;

namespace Dune.Oci.Lifecycle;

/// <summary>
/// The kernel seccomp filter a container's processes get: in native mode linux.seccomp as
/// given (none if absent, as runc); in Dune mode the policy the monitor enforces (or its
/// default) plus the monitor's own calls, as defense in depth (docs/security.md).
/// </summary>
public static class KernelSeccomp
{
    public static SeccompProgram? For(LinuxSeccomp? policy, string mode)
    {
        try
        {
            if (mode == DuneMode.Dune)
            {
                // The container's own policy must compile on its own too: the monitor enforces it.
                if (policy is not null)
                {
                    NeedsListener(Warn(SeccompCompiler.Compile(policy)), policy);
                    MonitorSeccomp.CheckNotifyRules(policy);
                }
                return SeccompCompiler.Compile(MonitorSeccomp.Underneath(policy));
            }
            return policy is null ? null : NeedsListener(Warn(SeccompCompiler.Compile(policy)), policy);
        }
        catch (SeccompException e) { throw new RuntimeError($"config.json: {e.Message}"); }
    }

    // runc fails the same way ("seccomp listenerPath is not set"), only later, at the init's report.
    private static SeccompProgram NeedsListener(SeccompProgram p, LinuxSeccomp policy)
    {
        if (p.HasListener && string.IsNullOrEmpty(policy.ListenerPath))
            throw new SeccompException("linux.seccomp.listenerPath",
                "seccomp listenerPath is not set: SCMP_ACT_NOTIFY rules need a seccomp agent to send the notification descriptor to");
        return p;
    }

    private static SeccompProgram Warn(SeccompProgram p)
    {
        foreach (var w in p.Warnings) RuntimeLog.Warn(w);
        return p;
    }
}
