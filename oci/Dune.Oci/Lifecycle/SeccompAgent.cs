using System.Text.Json;
using Dune.Oci.Interop;
using Dune.Oci.Spec;

namespace Dune.Oci.Lifecycle;

/// <summary>
/// Hands a seccomp notification descriptor to the agent at <c>linux.seccomp.listenerPath</c>,
/// as runc does: connect, then one message with the <see cref="ContainerProcessState"/> JSON
/// and the descriptor as SCM_RIGHTS. dune-init loaded the filter and sent the descriptor up
/// the plan socket; it waits until this returns, and it never keeps a copy, so the program
/// it then executes cannot answer its own notifications.
/// </summary>
public static class SeccompAgent
{
    /// <summary>
    /// Answers SECCOMP_FD: the descriptor that came with it goes to the agent, then dune-init
    /// may go on (CONTINUE). On failure the caller closes the session, which stops dune-init.
    /// </summary>
    public static void Forward(DuneInitSession session, LinuxSeccomp? policy, int processPid, ContainerState state)
    {
        int fd = session.TakeReceivedFd();
        try
        {
            if (fd < 0) throw new RuntimeError("dune-init reported a seccomp filter but sent no notification descriptor");
            if (policy is null) throw new RuntimeError("dune-init sent a seccomp notification descriptor but the config has no linux.seccomp");
            Send(policy, processPid, state, fd);
        }
        finally
        {
            if (fd >= 0) Libc.close(fd);
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
            UnixSocket.SendWithFd(socket, json, seccompFd, $"cannot send seccomp fd to {path}");
            RuntimeLog.DebugLine($"seccomp: notification descriptor of pid {processPid} sent to {path}");
        }
        finally
        {
            Libc.close(socket);
        }
    }
}
