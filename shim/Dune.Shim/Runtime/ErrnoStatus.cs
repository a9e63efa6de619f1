using Dune.Shim.Ttrpc;
using Tmds.Linux;

namespace Dune.Shim.Runtime;

/// <summary>
/// The gRPC code of a failure, decided by the errno that caused it (dune logs it with the
/// error; the shim's own calls carry it in NativeException), never by the message's words.
/// </summary>
internal static class ErrnoStatus
{
    public static StatusCode Of(int errno)
    {
        // The container or process addressed is not there (dune: state directory missing;
        // kill: the process has exited, containerd's "process already finished").
        if (errno == LibC.ENOENT || errno == LibC.ESRCH) return StatusCode.NotFound;
        if (errno == LibC.EEXIST) return StatusCode.AlreadyExists;
        if (errno == LibC.EINVAL) return StatusCode.InvalidArgument;
        if (errno == LibC.EPERM || errno == LibC.EACCES) return StatusCode.PermissionDenied;
        return StatusCode.Unknown;
    }
}
