using Dune.Oci.Spec;

namespace Dune.Oci.Cgroups;

/// <summary>
/// linux.resources.devices as a BPF_PROG_TYPE_CGROUP_DEVICE program, the way cgroup v2 enforces
/// device rules. The kernel runs it on every open and mknod of a device node by a process of the
/// cgroup (or below) with struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; } in r1,
/// access_type being (access &lt;&lt; 16) | type (BPF_DEVCG_DEV_BLOCK 1, BPF_DEVCG_DEV_CHAR 2; access bits
/// as <see cref="DeviceAccess"/>); it returns 1 to allow, 0 to deny (EPERM).
/// The rules are first replayed into their effective form (<see cref="EffectiveDeviceRules"/>), then
/// each exception becomes a block that returns the opposite of the default when it matches:
/// an allow exception matches when every requested access is one it grants (cgroup v1's
/// match_exception), a deny exception when any requested access is one it denies (v1's
/// match_exception_partial, so an O_RDWR open is refused by a rule denying only "w").
/// </summary>
internal sealed class DeviceProgram
{
    /// <summary>The license string the kernel records (the program calls no GPL-only helper).</summary>
    public const string License = "Apache";

    /// <summary>The program's name as bpftool shows it (BPF_OBJ_NAME_LEN is 16 with the NUL).</summary>
    public const string Name = "dune_devices";

    private const int BlockType = 1, CharType = 2;

    // Registers: r1 the context, then type, requested access, major and minor.
    private const byte R0 = 0, R1 = 1, RType = 2, RAccess = 3, RMajor = 4, RMinor = 5;

    private DeviceProgram(EffectiveDeviceRules rules, byte[] instructions)
    {
        Rules = rules;
        Instructions = instructions;
    }

    public EffectiveDeviceRules Rules { get; }

    /// <summary>struct bpf_insn[] as BPF_PROG_LOAD takes it.</summary>
    public byte[] Instructions { get; }

    public int InstructionCount => Instructions.Length / 8;

    /// <summary>Nothing is restricted: no program needs to be attached (and an attached one can go).</summary>
    public bool AllowsEverything => Rules.AllowsEverything;

    public static DeviceProgram Compile(IEnumerable<LinuxDeviceCgroup> rules, Action<string>? warn = null)
    {
        var effective = EffectiveDeviceRules.Replay(rules, warn);
        var asm = new EbpfAssembler();
        asm.LoadWord(RType, R1, 0);
        asm.And32(RType, 0xffff);
        asm.LoadWord(RAccess, R1, 0);
        asm.RightShift32(RAccess, 16);
        asm.LoadWord(RMajor, R1, 4);
        asm.LoadWord(RMinor, R1, 8);
        int exceptionResult = effective.DefaultAllow ? 0 : 1;
        foreach (var (device, access) in effective.Exceptions)
        {
            var next = new EbpfAssembler.Label();
            asm.JumpIfNotEqual32(RType, device.Type == 'b' ? (uint)BlockType : CharType, next);
            if (access != DeviceAccess.All)
            {
                if (effective.DefaultAllow)
                {
                    // Deny exception: no requested access in common with it -> not this rule.
                    asm.Move32Register(R1, RAccess);
                    asm.And32(R1, (int)access);
                    asm.JumpIfEqual32(R1, 0, next);
                }
                else
                {
                    // Allow exception: a requested access it does not grant -> not this rule.
                    asm.JumpIfAnySet32(RAccess, (uint)(DeviceAccess.All & ~access), next);
                }
            }
            if (device.Major >= 0) asm.JumpIfNotEqual32(RMajor, (uint)device.Major, next);
            if (device.Minor >= 0) asm.JumpIfNotEqual32(RMinor, (uint)device.Minor, next);
            asm.Move32(R0, exceptionResult);
            asm.Exit();
            asm.Mark(next);
        }
        asm.Move32(R0, effective.DefaultAllow ? 1 : 0);
        asm.Exit();
        return new DeviceProgram(effective, asm.ToBytes());
    }
}
