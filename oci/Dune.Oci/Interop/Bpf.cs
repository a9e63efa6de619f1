using Tmds.Linux;
using System.Runtime.InteropServices;

namespace Dune.Oci.Interop;

/// <summary>
/// The bpf(2) commands cgroup v2 device programs need (load, attach, detach, query, fd by id),
/// through Tmds.LibC's syscall(): glibc has no bpf() wrapper. Attribute layouts follow union bpf_attr
/// (include/uapi/linux/bpf.h); the kernel zero-fills what a shorter attribute leaves out.
/// </summary>
internal static unsafe class Bpf
{
    public const int BPF_PROG_LOAD = 5, BPF_PROG_ATTACH = 8, BPF_PROG_DETACH = 9, BPF_PROG_GET_FD_BY_ID = 13, BPF_PROG_QUERY = 16;
    public const uint BPF_PROG_TYPE_CGROUP_DEVICE = 15;
    public const uint BPF_CGROUP_DEVICE = 6;
    public const uint BPF_F_ALLOW_MULTI = 2, BPF_F_REPLACE = 4;

    [StructLayout(LayoutKind.Sequential)]
    public struct ProgLoadAttr
    {
        public uint ProgType;
        public uint InsnCnt;
        public ulong Insns;
        public ulong License;
        public uint LogLevel;
        public uint LogSize;
        public ulong LogBuf;
        public uint KernVersion;
        public uint ProgFlags;
        public fixed byte ProgName[16];
        public uint ProgIfindex;
        public uint ExpectedAttachType;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct ProgAttachAttr
    {
        public uint TargetFd;
        public uint AttachBpfFd;
        public uint AttachType;
        public uint AttachFlags;
        public uint ReplaceBpfFd;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct ProgQueryAttr
    {
        public uint TargetFd;
        public uint AttachType;
        public uint QueryFlags;
        public uint AttachFlags;
        public ulong ProgIds;
        public uint ProgCnt;
        private readonly uint _pad;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct GetFdByIdAttr
    {
        public uint ProgId;
        public uint NextId;
        public uint OpenFlags;
    }

    private static int SysBpf => RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 => 321,
        Architecture.Arm64 => 280,
        var a => throw new PlatformNotSupportedException($"bpf(2): no syscall number known for {a}"),
    };

    /// <summary>bpf(cmd, attr, sizeof attr): the result (an fd or 0), or -1 with errno set.</summary>
    public static int Call<T>(int cmd, ref T attr) where T : unmanaged
    {
        fixed (T* p = &attr)
            return (int)LibC.syscall(SysBpf, cmd, p, sizeof(T));
    }
}
