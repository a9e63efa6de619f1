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
                if (policy is not null) Warn(SeccompCompiler.Compile(policy));
                return SeccompCompiler.Compile(MonitorSeccomp.Underneath(policy));
            }
            return policy is null ? null : Warn(SeccompCompiler.Compile(policy));
        }
        catch (SeccompException e) { throw new RuntimeError($"config.json: {e.Message}"); }
    }

    private static SeccompProgram Warn(SeccompProgram p)
    {
        foreach (var w in p.Warnings) RuntimeLog.Warn(w);
        return p;
    }
}
