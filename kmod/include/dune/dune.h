/* /dev/dune's user-space interface (shared by kmod/ and libdune/src/kmod.c).
 *
 * /dev/dune          DUNE_GET_API_VERSION, DUNE_CREATE_VM (-> a VM descriptor)
 * VM descriptor      bound to the calling process's address space (mm) for its whole life:
 *                    DUNE_SET_SLOT, DUNE_FLUSH, DUNE_CREATE_VCPU (-> a vCPU descriptor),
 *                    DUNE_SET_SYSCALLS (the in-kernel syscall fast path, kmod/syscall.c)
 * vCPU descriptor    mmap of one page (struct dune_run: registers and the last exit),
 *                    DUNE_RUN, DUNE_SET_MSRS, DUNE_GET_XSAVE, DUNE_SET_XSAVE
 * Register layouts are KVM's (struct kvm_regs, kvm_sregs, kvm_xsave), so that libdune keeps
 * one format for both backends. */
#ifndef DUNE_UAPI_H
#define DUNE_UAPI_H

#include <linux/ioctl.h>
#include <linux/kvm.h>
#include <linux/types.h>

#define DUNE_API_VERSION 3
#define DUNE_IOC 0xE9

/* Guest-physical [gpa, gpa + size) is the caller's virtual [hva, hva + size): page aligned,
 * inside the user address space, not overlapping another slot. At most DUNE_MAX_SLOTS. */
struct dune_slot {
	__u64 gpa;
	__u64 size;
	__u64 hva;
};
#define DUNE_MAX_SLOTS 4096

struct dune_msr {
	__u32 index;
	__u32 pad;
	__u64 value;
};
/* The MSRs a vCPU may set: STAR, LSTAR, CSTAR, SFMASK, KERNEL_GS_BASE, FS_BASE, GS_BASE,
 * SYSENTER_CS/ESP/EIP, PAT. Anything else: EINVAL. */
struct dune_msrs {
	__u32 nmsrs; /* at most DUNE_MAX_MSRS */
	__u32 pad;
	struct dune_msr entries[16];
};
#define DUNE_MAX_MSRS 16

enum dune_exit_reason {
	DUNE_EXIT_NONE = 0,
	DUNE_EXIT_FETCH,    /* instruction fetch from a guest-physical address in no slot */
	DUNE_EXIT_MMIO,     /* data access to a guest-physical address in no slot */
	DUNE_EXIT_IO,       /* port I/O (port in exit_addr) */
	DUNE_EXIT_SHUTDOWN, /* triple fault */
	DUNE_EXIT_EFAULT,   /* a slot address the process cannot back (unmapped, no permission) */
	DUNE_EXIT_ERROR,    /* anything else: exit_code/exit_info* say what (backend-specific) */
	DUNE_EXIT_SYSCALL,  /* the fast path performed the call and a signal interrupted it: the
			     * guest is still at the syscall entry (rax = the number), the result
			     * the monitor must finish with is syscall_ret (-EINTR) */
};

/* A bit the CPU ignores in the guest's page-table entries: set by the monitor on pages ring 3
 * may see that are not the program's memory; the fast path performs no call with a buffer on
 * such a page. */
#define DUNE_PTE_NOT_PROGRAM (1ULL << 9)

/* The in-kernel syscall fast path (DUNE_SET_SYSCALLS on the VM descriptor, once per VM): a
 * guest `syscall` that reaches `entry` (the guest's LSTAR) in ring 0 with its number in
 * `allow` is performed by the module, when the module's own list has it, its descriptor is
 * not the monitor's and its buffers are user pages of the guest's page tables mapped to
 * themselves; the guest resumes as `sysret` would (RIP = RCX, RFLAGS from R11, cs/ss). */
struct dune_syscalls {
	__u64 allow[8];            /* bit n: call n may be performed in the kernel (n < 512) */
	__u64 entry;               /* guest RIP of the syscall entry (LSTAR), a kernel-half address */
	struct kvm_segment cs, ss; /* the program's code and stack segments (DPL 3, 64-bit code) */
	__s32 monitor_fds[8];      /* the monitor's descriptors besides the module's own; -1: none */
	__u64 flags;               /* DUNE_SC_* */
};
/* A getpid made by `mov $39,%eax; syscall` goes to the monitor, which rewrites such a call
 * site into a stub that answers in the guest with no exit at all (libdune's fast calls). */
#define DUNE_SC_GETPID_SITES 1

/* The run page (mmap of a vCPU descriptor, offset 0, one page). */
struct dune_run {
	__u32 exit_reason;    /* enum dune_exit_reason of the last DUNE_RUN */
	__u8 immediate_exit;  /* set: DUNE_RUN returns EINTR at once (a kick) */
	__u8 pad0[3];
	__u64 exit_addr;      /* FETCH/MMIO/EFAULT: guest-physical address; IO: the port */
	__u64 exit_code;      /* the backend's raw exit code and information */
	__u64 exit_info1;
	__u64 exit_info2;
	__u32 dirty;          /* DUNE_DIRTY_*: registers user space changed since the last run */
	__u32 pad1;
	struct kvm_regs regs; /* valid after each DUNE_RUN; loaded before the next when dirty */
	struct kvm_sregs sregs;
	/* The fast path (struct dune_syscalls). */
	__u8 kernel_calls;     /* user space: the fast path may run during this DUNE_RUN */
	__u8 pad2[7];
	__u64 kernel_syscalls; /* calls performed in the kernel: the module adds, user space takes */
	__s64 syscall_ret;     /* DUNE_EXIT_SYSCALL: the result to finish the call with */
};
#define DUNE_DIRTY_REGS 1
#define DUNE_DIRTY_SREGS 2

#define DUNE_GET_API_VERSION _IO(DUNE_IOC, 0x00)
#define DUNE_CREATE_VM       _IO(DUNE_IOC, 0x01)
#define DUNE_SET_SLOT        _IOW(DUNE_IOC, 0x10, struct dune_slot)
#define DUNE_FLUSH           _IO(DUNE_IOC, 0x11)
#define DUNE_CREATE_VCPU     _IO(DUNE_IOC, 0x12)
#define DUNE_SET_SYSCALLS    _IOW(DUNE_IOC, 0x13, struct dune_syscalls)
#define DUNE_RUN             _IO(DUNE_IOC, 0x20)
#define DUNE_SET_MSRS        _IOW(DUNE_IOC, 0x21, struct dune_msrs)
#define DUNE_GET_XSAVE       _IOR(DUNE_IOC, 0x22, struct kvm_xsave)
#define DUNE_SET_XSAVE       _IOW(DUNE_IOC, 0x23, struct kvm_xsave)

#endif
