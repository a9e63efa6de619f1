using Tmds.Linux;
using Dune.Interop;
using Dune.Oci.Interop;
using Dune.Oci.Spec;

namespace Dune.Oci.Lifecycle;

/// <summary>
/// Runs the hooks that execute in the runtime's namespaces (prestart, createRuntime,
/// poststart, poststop) with the container state on stdin; createContainer and
/// startContainer run inside the container through dune-init's RUN_HOOK step.
/// </summary>
public static unsafe class HookRunner
{
    public static void Run(string kind, IEnumerable<Hook> hooks, byte[] state)
    {
        foreach (var h in hooks) RunOne(kind, h, state);
    }

    /// <summary>Runs every hook, collecting failures instead of stopping (poststart/poststop: warn only).</summary>
    public static List<string> RunAll(string kind, IEnumerable<Hook> hooks, byte[] state)
    {
        var failures = new List<string>();
        foreach (var h in hooks)
        {
            try { RunOne(kind, h, state); }
            catch (RuntimeError e) { failures.Add(e.Message); }
        }
        return failures;
    }

    private static void RunOne(string kind, Hook hook, byte[] state)
    {
        int* p = stackalloc int[2];
        if (LibC.pipe2(p, LibC.O_CLOEXEC) != 0) throw RuntimeError.OfErrno("pipe", NativeException.LastErrno);
        int pid;
        try
        {
            var argv = hook.Args is { Count: > 0 } a ? a : new List<string> { hook.Path };
            pid = Spawner.Spawn(hook.Path, argv, hook.Env ?? new List<string>(), new[] { (0, p[0]), (1, 1), (2, 2) });
        }
        catch (NativeException e)
        {
            LibC.close(p[0]); LibC.close(p[1]);
            throw new RuntimeError($"{kind} hook {hook.Path} could not start: {e.Message}", e.Errno);
        }
        LibC.close(p[0]);
        // The hook may not read stdin at all: a short write or EPIPE is not its failure.
        fixed (byte* b = state) LibC.write(p[1], b, (size_t)state.Length);
        LibC.close(p[1]);

        var timeout = hook.Timeout is int t ? TimeSpan.FromSeconds(t) : TimeSpan.FromDays(365);
        var status = ProcessWait.WaitFor(pid, timeout, out bool notChild);
        if (status is null && !notChild)
        {
            LibC.kill(pid, 9);
            ProcessWait.Wait(pid);
            throw new RuntimeError($"{kind} hook {hook.Path} timed out after {hook.Timeout} seconds");
        }
        if (status is int s && s != 0)
            throw new RuntimeError($"{kind} hook {hook.Path} {ProcessWait.Describe(s)}");
    }
}
