using Dune.Interop;
using Tmds.Linux;
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
        int i = 0;
        foreach (var h in hooks) RunOne(kind, i++, h, state);
    }

    /// <summary>Runs every hook, collecting failures instead of stopping (poststart/poststop: warn only).</summary>
    public static List<string> RunAll(string kind, IEnumerable<Hook> hooks, byte[] state)
    {
        var failures = new List<string>();
        int i = 0;
        foreach (var h in hooks)
        {
            try { RunOne(kind, i++, h, state); }
            catch (RuntimeError e) { failures.Add(e.Message); }
        }
        return failures;
    }

    /// <summary>
    /// As runc: the hook's stdout and stderr are kept (in memory files, so a chatty hook cannot
    /// block) and reported with its failure: "error running KIND hook #N: ..., stdout: ..., stderr: ...".
    /// </summary>
    private static void RunOne(string kind, int index, Hook hook, byte[] state)
    {
        var label = $"error running {kind} hook #{index}: {hook.Path}";
        int* p = stackalloc int[2];
        if (LibC.pipe2(p, LibC.O_CLOEXEC) != 0) throw RuntimeError.OfErrno("pipe", NativeException.LastErrno);
        int output = HookOutput.Open(), errors = HookOutput.Open();
        int pid;
        try
        {
            var argv = hook.Args is { Count: > 0 } a ? a : new List<string> { hook.Path };
            pid = Spawner.Spawn(hook.Path, argv, hook.Env ?? new List<string>(), new[] { (0, p[0]), (1, output), (2, errors) });
        }
        catch (NativeException e)
        {
            LibC.close(p[0]); LibC.close(p[1]); LibC.close(output); LibC.close(errors);
            throw new RuntimeError($"{label} could not start: {e.Message}", e.Errno);
        }
        LibC.close(p[0]);
        try { Wait(label, hook, pid, p[1], state, output, errors); }
        finally { LibC.close(output); LibC.close(errors); }
    }

    private static void Wait(string label, Hook hook, int pid, int stdin, byte[] state, int output, int errors)
    {
        // The hook may not read stdin at all: a short write or EPIPE is not its failure.
        fixed (byte* b = state) LibC.write(stdin, b, (size_t)state.Length);
        LibC.close(stdin);

        var timeout = hook.Timeout is int t ? TimeSpan.FromSeconds(t) : TimeSpan.FromDays(365);
        var status = ProcessWait.WaitFor(pid, timeout, out bool notChild);
        if (status is null && !notChild)
        {
            LibC.kill(pid, 9);
            ProcessWait.Wait(pid);
            throw new RuntimeError($"{label} timed out after {hook.Timeout} seconds");
        }
        if (status is int s && s != 0)
            throw new RuntimeError($"{label} {ProcessWait.Describe(s)}, stdout: {HookOutput.Read(output)}, stderr: {HookOutput.Read(errors)}");
    }
}
