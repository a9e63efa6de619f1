using Tmds.Linux;
using Dune.Interop;
using System.Text.Json;
using Dune.Oci.Interop;
using Dune.Oci.Plan;
using Dune.Oci.Spec;

namespace Dune.Oci.Lifecycle;

/// <summary>
/// Hands a seccomp notification descriptor to the agent at <c>linux.seccomp.listenerPath</c>,
/// as runc does: connect, then one message with the <see cref="ContainerProcessState"/> JSON
/// and the descriptor as SCM_RIGHTS. dune-init loaded the filter and reported the
/// descriptor's number (SECCOMP_FD); the copy is taken with pidfd_getfd, as runc takes it, so
/// that dune-init makes no call but that report before the agent can answer notifications.
/// dune-init waits until this is done, then closes its own: the program it executes keeps
/// none and cannot answer its own notifications.
/// </summary>
public static class SeccompAgent
{
    /// <summary>
    /// Answers SECCOMP_FD (<paramref name="report"/>): the descriptor it names, in the process
    /// that loaded the filter, goes to the agent, then dune-init may go on (CONTINUE). On failure
    /// the caller closes the session, which stops dune-init.
    /// </summary>
    public static void Forward(DuneInitSession session, PlanMessage report, LinuxSeccomp? policy, int processPid, ContainerState state)
    {
        if (policy is null) throw new RuntimeError("dune-init reported a seccomp notification descriptor but the config has no linux.seccomp");
        if (report.Args.Count != 1 || report.Args[0].Length != 8)
            throw new RuntimeError("dune-init sent a malformed SECCOMP_FD message");
        int fd = Pidfd.GetFd(processPid, (int)report.U64(0), "cannot take the seccomp notification descriptor");
        try
        {
            Send(policy, processPid, state, fd);
        }
        finally
        {
            LibC.close(fd);
        }
        session.Continue();
    }

    public static void Send(LinuxSeccomp policy, int processPid, ContainerState state, int seccompFd)
    {
        var path = policy.ListenerPath;
        if (string.IsNullOrEmpty(path)) throw new RuntimeError("seccomp listenerPath is not set");
        var document = new ContainerProcessState
        {
            Fds = new List<string> { ContainerProcessState.SeccompFdName },
            Pid = processPid,
            Metadata = string.IsNullOrEmpty(policy.ListenerMetadata) ? null : policy.ListenerMetadata,
            State = OciState.From(state),
        };
        var json = JsonSerializer.SerializeToUtf8Bytes(document, SpecJsonContext.Default.ContainerProcessState);
        int socket = UnixSocket.Connect(path, $"failed to connect with seccomp agent specified in the seccomp profile ({path})");
        try
        {
            FdPassing.Send(socket, json, seccompFd, $"cannot send seccomp fd to {path}");
            RuntimeLog.DebugLine($"seccomp: notification descriptor of pid {processPid} sent to {path}");
        }
        finally
        {
            LibC.close(socket);
        }
    }
}
