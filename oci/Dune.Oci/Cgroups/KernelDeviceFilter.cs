using Dune.Interop;
using Tmds.Linux;
using System.Text;
using Dune.Oci.Interop;

namespace Dune.Oci.Cgroups;

/// <summary>
/// Device programs on the kernel, as runc attaches them: loaded with BPF_PROG_LOAD, attached to the
/// cgroup directory with BPF_CGROUP_DEVICE and BPF_F_ALLOW_MULTI (so programs of ancestors, systemd's
/// for one, stay in force: every program must allow an access), and replaced atomically with
/// BPF_F_REPLACE when one program of ours is already there. The attachment holds the program; no fd is
/// kept. Removing the cgroup directory frees it too, but delete detaches first so nothing is left.
/// </summary>
internal sealed class KernelDeviceFilter : IDeviceFilter
{
    public static readonly KernelDeviceFilter Instance = new();

    private const int O_DIRECTORY = 0x10000;
    private const int ENOENT = 2, EINVAL = 22, ENOSPC = 28, ENOSYS = 38, EPERM = 1;
    private const int LogSize = 1 << 16;

    private const string Needs = "cgroup v2 device rules need a kernel with cgroup BPF (CONFIG_CGROUP_BPF, BPF_PROG_TYPE_CGROUP_DEVICE, Linux 5.1 or later) and CAP_SYS_ADMIN";

    public void Install(string dir, DeviceProgram program)
    {
        int dirFd = OpenDir(dir);
        try
        {
            var old = AttachedIds(dirFd, dir);
            if (program.AllowsEverything)
            {
                foreach (uint id in old) Detach(dirFd, id, dir);
                return;
            }
            int prog = Load(program, dir);
            try
            {
                if (old.Count == 1 && TryReplace(dirFd, prog, old[0], dir)) return;
                Attach(dirFd, prog, 0, BpfAttachFlags.Multi, dir);
                // Both are in force until the old ones go: briefly stricter, never looser.
                foreach (uint id in old) Detach(dirFd, id, dir);
            }
            finally { LibC.close(prog); }
        }
        finally { LibC.close(dirFd); }
    }

    public void Remove(string dir)
    {
        if (!Directory.Exists(dir)) return;
        int dirFd = OpenDir(dir);
        try
        {
            foreach (uint id in AttachedIds(dirFd, dir)) Detach(dirFd, id, dir);
        }
        finally { LibC.close(dirFd); }
    }

    private static class BpfAttachFlags
    {
        public const uint Multi = Bpf.BPF_F_ALLOW_MULTI;
        public const uint Replace = Bpf.BPF_F_ALLOW_MULTI | Bpf.BPF_F_REPLACE;
    }

    private static int OpenDir(string dir)
    {
        int fd = PathCalls.Open(dir, LibC.O_RDONLY | O_DIRECTORY | LibC.O_CLOEXEC, 0);
        if (fd < 0) throw new CgroupException($"opening cgroup directory {dir} for its device program failed: {NativeException.Describe(NativeException.LastErrno)}");
        return fd;
    }

    private static unsafe int Load(DeviceProgram program, string dir)
    {
        byte[] license = Encoding.ASCII.GetBytes(DeviceProgram.License + "\0");
        fixed (byte* insns = program.Instructions)
        fixed (byte* lic = license)
        {
            var attr = new Bpf.ProgLoadAttr
            {
                ProgType = Bpf.BPF_PROG_TYPE_CGROUP_DEVICE,
                InsnCnt = (uint)program.InstructionCount,
                Insns = (ulong)insns,
                License = (ulong)lic,
                ExpectedAttachType = Bpf.BPF_CGROUP_DEVICE,
            };
            byte[] name = Encoding.ASCII.GetBytes(DeviceProgram.Name);
            for (int i = 0; i < name.Length && i < 15; i++) attr.ProgName[i] = name[i];
            int fd = Bpf.Call(Bpf.BPF_PROG_LOAD, ref attr);
            if (fd >= 0) return fd;
            int errno = NativeException.LastErrno;
            // Again with the verifier's log, so the error says why.
            byte[] log = new byte[LogSize];
            fixed (byte* logBuf = log)
            {
                attr.LogLevel = 1;
                attr.LogSize = LogSize;
                attr.LogBuf = (ulong)logBuf;
                fd = Bpf.Call(Bpf.BPF_PROG_LOAD, ref attr);
            }
            if (fd >= 0) return fd;
            string verifier = Encoding.UTF8.GetString(log, 0, Math.Max(0, Array.IndexOf(log, (byte)0))).Trim();
            throw new CgroupException($"loading the device program for {dir} (BPF_PROG_LOAD, BPF_PROG_TYPE_CGROUP_DEVICE, {program.InstructionCount} instructions) failed: {NativeException.Describe(errno)}"
                + (verifier.Length > 0 ? $"; verifier log: {verifier.Replace('\n', ' ')}" : "")
                + (errno is EINVAL or EPERM or ENOSYS ? $" ({Needs})" : ""));
        }
    }

    private static bool TryReplace(int dirFd, int prog, uint oldId, string dir)
    {
        int oldFd = FdOf(oldId);
        if (oldFd < 0) return false; // gone meanwhile: plain attach
        try
        {
            var attr = new Bpf.ProgAttachAttr
            {
                TargetFd = (uint)dirFd, AttachBpfFd = (uint)prog, AttachType = Bpf.BPF_CGROUP_DEVICE,
                AttachFlags = BpfAttachFlags.Replace, ReplaceBpfFd = (uint)oldFd,
            };
            if (Bpf.Call(Bpf.BPF_PROG_ATTACH, ref attr) == 0) return true;
            int errno = NativeException.LastErrno;
            // A kernel before 5.6 has no BPF_F_REPLACE; a program detached meanwhile is not there to replace.
            if (errno is EINVAL or ENOENT) return false;
            throw new CgroupException($"replacing the device program of {dir} (BPF_PROG_ATTACH, BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI|BPF_F_REPLACE) failed: {NativeException.Describe(errno)}");
        }
        finally { LibC.close(oldFd); }
    }

    private static void Attach(int dirFd, int prog, int replaceFd, uint flags, string dir)
    {
        var attr = new Bpf.ProgAttachAttr
        {
            TargetFd = (uint)dirFd, AttachBpfFd = (uint)prog, AttachType = Bpf.BPF_CGROUP_DEVICE,
            AttachFlags = flags, ReplaceBpfFd = (uint)replaceFd,
        };
        if (Bpf.Call(Bpf.BPF_PROG_ATTACH, ref attr) != 0)
        {
            int errno = NativeException.LastErrno;
            throw new CgroupException($"attaching the device program to {dir} (BPF_PROG_ATTACH, BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI) failed: {NativeException.Describe(errno)}"
                + (errno is EINVAL or EPERM or ENOSYS ? $" ({Needs})" : ""));
        }
    }

    private static void Detach(int dirFd, uint id, string dir)
    {
        int fd = FdOf(id);
        if (fd < 0) return; // already freed
        try
        {
            var attr = new Bpf.ProgAttachAttr { TargetFd = (uint)dirFd, AttachBpfFd = (uint)fd, AttachType = Bpf.BPF_CGROUP_DEVICE };
            if (Bpf.Call(Bpf.BPF_PROG_DETACH, ref attr) != 0 && NativeException.LastErrno != ENOENT)
                throw new CgroupException($"detaching device program {id} from {dir} (BPF_PROG_DETACH, BPF_CGROUP_DEVICE) failed: {NativeException.Describe(NativeException.LastErrno)}");
        }
        finally { LibC.close(fd); }
    }

    // -1 when the program no longer exists.
    private static int FdOf(uint id)
    {
        var attr = new Bpf.GetFdByIdAttr { ProgId = id };
        int fd = Bpf.Call(Bpf.BPF_PROG_GET_FD_BY_ID, ref attr);
        if (fd >= 0) return fd;
        int errno = NativeException.LastErrno;
        if (errno == ENOENT) return -1;
        throw new CgroupException($"opening device program {id} (BPF_PROG_GET_FD_BY_ID) failed: {NativeException.Describe(errno)}");
    }

    /// <summary>The ids of the device programs attached to the directory itself (not inherited ones).</summary>
    private static unsafe List<uint> AttachedIds(int dirFd, string dir)
    {
        uint capacity = 64; // the kernel's limit of programs per cgroup and attach type, as of writing
        for (int attempt = 0; attempt < 10; attempt++)
        {
            var ids = new uint[capacity];
            fixed (uint* p = ids)
            {
                var attr = new Bpf.ProgQueryAttr { TargetFd = (uint)dirFd, AttachType = Bpf.BPF_CGROUP_DEVICE, ProgIds = (ulong)p, ProgCnt = capacity };
                if (Bpf.Call(Bpf.BPF_PROG_QUERY, ref attr) == 0)
                    return ids.Take((int)attr.ProgCnt).ToList();
                int errno = NativeException.LastErrno;
                if (errno == ENOSPC && attr.ProgCnt > capacity) { capacity = attr.ProgCnt; continue; }
                throw new CgroupException($"listing the device programs of {dir} (BPF_PROG_QUERY, BPF_CGROUP_DEVICE) failed: {NativeException.Describe(errno)}"
                    + (errno is EINVAL or EPERM or ENOSYS ? $" ({Needs})" : ""));
            }
        }
        throw new CgroupException($"listing the device programs of {dir}: the number attached kept changing");
    }
}
