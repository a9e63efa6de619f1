// SPDX-License-Identifier: GPL-2.0
/* The in-kernel syscall fast path. A guest `syscall` jumps to the monitor's entry page (its
 * LSTAR), whose fetch is a nested page fault outside every slot; before that fault becomes
 * DUNE_EXIT_FETCH, dune_syscall_fast may perform the call here, in DUNE_RUN's task context
 * (interrupts on, preemptible, the guest's FPU state saved by the kernel like any task's),
 * and resume the guest as `sysret` would. Only when all of these hold, else the call goes to
 * the monitor untouched:
 *   - the monitor enabled the fast path for this run (run->kernel_calls: one thread, no
 *     tracer, no --trace, not --no-kernel-syscalls) and gave the VM a table
 *     (DUNE_SET_SYSCALLS): the call is allowed by its policy with no condition and is a
 *     plain pass-through there;
 *   - the call is in the module's own list below, and its entry point was resolved at load;
 *   - the guest is in ring 0 at exactly the table's entry RIP (a real `syscall`, not a jump)
 *     with a user return address in RCX, and no signal is pending;
 *   - its descriptor argument is no file of this module and none of the monitor's;
 *   - every byte of its buffer is on a page the guest's own page tables give ring 3 (present
 *     and user at every level; writable at every level when the kernel writes it), not marked
 *     DUNE_PTE_NOT_PROGRAM (the fast-call area, the vDSO), and map to the same address (the
 *     monitor maps program memory to itself and nothing else of its own for ring 3), below the
 *     end of the user half.
 * Dispatch: the kernel's own pt_regs wrappers (`__x64_sys_read`...), found once at load
 * through kallsyms (reached with a kprobe on kallsyms_lookup_name, the only way left since
 * Linux 5.7 unexported it) and kept only when they lie in the core kernel's text. */
#include <linux/bitmap.h>
#include <linux/errno.h>
#include <linux/file.h>
#include <linux/kprobes.h>
#include <linux/ptrace.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/unistd.h>
#include "dune.h"
#include "syscall.h"

#define SC_MAX 512
#define SC_USER_END 0x800000000000ULL   /* the guest's user half (4-level paging) */
#define SC_MAX_LEN (64ULL << 20)         /* longer buffers go to the monitor */
#define SC_RFLAGS_USER 0x254dd5ULL       /* what sysret keeps of R11, as libdune's exit path */
#define SC_RFLAGS_FIXED 0x202ULL         /* IF and bit 1 */
#define PTE_P (1ULL << 0)
#define PTE_W (1ULL << 1)
#define PTE_U (1ULL << 2)
#define PTE_PS (1ULL << 7)
#define PTE_ADDR 0x000ffffffffff000ULL
#define CR4_LA57 (1ULL << 12)

typedef long (*sc_fn)(const struct pt_regs *);

/* What the module knows about a call it may perform: its wrapper, its descriptor argument
 * and its one buffer (index of the pointer, of its length or a fixed length, direction). */
struct sc_spec {
	const char *name;
	s8 fd, buf, len;
	u16 fixed;
	bool out; /* the kernel writes the buffer */
};

#define NOARG(n) { n, -1, -1, -1, 0, false }
static const struct sc_spec sc_specs[] = {
	[__NR_read] = { "__x64_sys_read", 0, 1, 2, 0, true },
	[__NR_write] = { "__x64_sys_write", 0, 1, 2, 0, false },
	[__NR_pread64] = { "__x64_sys_pread64", 0, 1, 2, 0, true },
	[__NR_pwrite64] = { "__x64_sys_pwrite64", 0, 1, 2, 0, false },
	[__NR_lseek] = { "__x64_sys_lseek", 0, -1, -1, 0, false },
	[__NR_fstat] = { "__x64_sys_newfstat", 0, 1, -1, 144, true },
	[__NR_getrandom] = { "__x64_sys_getrandom", -1, 0, 1, 0, true },
	[__NR_clock_gettime] = { "__x64_sys_clock_gettime", -1, 1, -1, 16, true },
	[__NR_getpid] = NOARG("__x64_sys_getpid"),
	[__NR_getppid] = NOARG("__x64_sys_getppid"),
	[__NR_gettid] = NOARG("__x64_sys_gettid"),
	[__NR_getuid] = NOARG("__x64_sys_getuid"),
	[__NR_geteuid] = NOARG("__x64_sys_geteuid"),
	[__NR_getgid] = NOARG("__x64_sys_getgid"),
	[__NR_getegid] = NOARG("__x64_sys_getegid"),
	[__NR_sched_yield] = NOARG("__x64_sys_sched_yield"),
};
#define SC_SPECS ((int)ARRAY_SIZE(sc_specs))

/* Written once at load, read-only after init. */
static sc_fn sc_fns[ARRAY_SIZE(sc_specs)] __ro_after_init;

/* The VM's table (DUNE_SET_SYSCALLS). */
struct dune_sc {
	DECLARE_BITMAP(allow, SC_MAX);
	u64 entry, flags;
	struct kvm_segment cs, ss;
	int monitor_fds[8];
};

typedef unsigned long (*kallsyms_fn)(const char *);

/* A symbol's address through a kprobe (registered and at once unregistered). */
static unsigned long kprobe_lookup(const char *name)
{
	struct kprobe kp = { .symbol_name = name };
	unsigned long addr;

	if (register_kprobe(&kp) < 0)
		return 0;
	addr = (unsigned long)kp.addr;
	unregister_kprobe(&kp);
	return addr;
}

int __init dune_syscall_init(void)
{
	kallsyms_fn lookup = (kallsyms_fn)kprobe_lookup("kallsyms_lookup_name");
	unsigned long stext, etext, a;
	int i, n = 0;

	if (!lookup) {
		pr_warn("dune: kallsyms_lookup_name not found: no in-kernel syscalls\n");
		return -ENOENT;
	}
	stext = lookup("_stext");
	etext = lookup("_etext");
	if (!stext || etext <= stext)
		return -ENOENT;
	for (i = 0; i < SC_SPECS; i++) {
		if (!sc_specs[i].name)
			continue;
		a = lookup(sc_specs[i].name);
		if (a < stext || a >= etext) {
			pr_warn("dune: %s not in the kernel's text: performed by the monitor\n",
				sc_specs[i].name);
			continue;
		}
		sc_fns[i] = (sc_fn)a;
		n++;
	}
	pr_info("dune: %d system calls may be performed in the kernel\n", n);
	return n ? 0 : -ENOENT;
}

static bool seg_user(const struct kvm_segment *s, bool code)
{
	if (s->dpl != 3 || (s->selector & 3) != 3 || !s->present || !s->s || s->unusable)
		return false;
	if (code)
		return (s->type & 8) && s->l && !s->db;
	return !(s->type & 8) && (s->type & 2);
}

long dune_syscall_set(struct dune_vm *vm, const void __user *arg)
{
	struct dune_syscalls u;
	struct dune_sc *sc;
	int i;

	if (copy_from_user(&u, arg, sizeof(u)))
		return -EFAULT;
	if ((u.flags & ~(u64)DUNE_SC_GETPID_SITES) || u.entry < 0xffff800000000000ULL || !seg_user(&u.cs, true) || !seg_user(&u.ss, false))
		return -EINVAL;
	for (i = 0; i < 8; i++)
		if (u.monitor_fds[i] < -1)
			return -EINVAL;
	sc = kzalloc(sizeof(*sc), GFP_KERNEL_ACCOUNT);
	if (!sc)
		return -ENOMEM;
	bitmap_from_arr64(sc->allow, u.allow, SC_MAX);
	sc->entry = u.entry;
	sc->flags = u.flags;
	sc->cs = u.cs;
	sc->ss = u.ss;
	memcpy(sc->monitor_fds, u.monitor_fds, sizeof(sc->monitor_fds));
	if (cmpxchg_release(&vm->sc, NULL, sc)) {
		kfree(sc);
		return -EBUSY; /* once per VM: the policy of a process does not change */
	}
	return 0;
}

void dune_syscall_free(struct dune_vm *vm)
{
	kfree(vm->sc);
	vm->sc = NULL;
}

/* Reads the guest-physical u64 at gpa through the VM's slots (the process's own memory). */
static bool guest_read(struct dune_vm *vm, u64 gpa, u64 *val)
{
	unsigned long hva;

	if (!dune_vm_hva(vm, gpa, &hva))
		return false;
	return !get_user(*val, (u64 __user *)hva);
}

/* The page of va: user (and writable) at every level of the guest's tables, mapped to itself. */
static bool page_ok(struct dune_vm *vm, u64 cr3, u64 va, bool write)
{
	u64 table = cr3 & PTE_ADDR, e = 0, size;
	int level;

	for (level = 4; level >= 1; level--) {
		if (!guest_read(vm, table + 8 * ((va >> (12 + 9 * (level - 1))) & 511), &e))
			return false;
		if (!(e & PTE_P) || !(e & PTE_U) || (write && !(e & PTE_W)))
			return false;
		if (level > 1 && level < 4 && (e & PTE_PS)) {
			size = 1ULL << (12 + 9 * (level - 1));
			return !(e & DUNE_PTE_NOT_PROGRAM) &&
			       ((e & PTE_ADDR) & ~(size - 1)) == (va & ~(size - 1));
		}
		table = e & PTE_ADDR;
	}
	return !(e & DUNE_PTE_NOT_PROGRAM) && table == (va & PTE_ADDR);
}

static bool range_ok(struct dune_vm *vm, const struct kvm_sregs *s, u64 addr, u64 len, bool write)
{
	u64 va;

	if (!len)
		return true;
	if (len > SC_MAX_LEN || addr >= SC_USER_END || len > SC_USER_END - addr)
		return false;
	if ((s->cr4 & CR4_LA57) || !(s->efer & EFER_LMA))
		return false;
	for (va = addr & PAGE_MASK; va < addr + len; va += PAGE_SIZE)
		if (!page_ok(vm, s->cr3, va, write))
			return false;
	return true;
}

/* Not one of this module's files (device, VM, vCPU) and none of the monitor's numbers. The
 * call looks the descriptor up again: only the vCPU's own thread runs the program (the
 * monitor enables the fast path for one thread only), so the table cannot change between. */
static bool fd_ok(const struct dune_sc *sc, int fd)
{
	struct fd f;
	bool ok;
	int i;

	for (i = 0; i < 8; i++)
		if (sc->monitor_fds[i] >= 0 && fd == sc->monitor_fds[i])
			return false;
	f = fdget(fd);
	if (!f.file)
		return true; /* the call fails with EBADF, as in the monitor */
	ok = f.file->f_op->owner != THIS_MODULE;
	fdput(f);
	return ok;
}

static bool args_ok(struct dune_vcpu *v, const struct dune_sc *sc, const struct sc_spec *sp,
		    const u64 a[6], const struct kvm_sregs *s)
{
	u64 len;

	if (sp->fd >= 0 && !fd_ok(sc, (int)a[sp->fd]))
		return false;
	if (sp->buf < 0)
		return true;
	len = sp->len >= 0 ? a[sp->len] : sp->fixed;
	return range_ok(v->vm, s, a[sp->buf], len, sp->out);
}

/* The 5 bytes before the syscall are `mov $39,%eax` (program text, read like a buffer). */
static bool getpid_site(struct dune_vm *vm, const struct kvm_sregs *s, u64 rcx)
{
	static const u8 site[5] = { 0xb8, 0x27, 0, 0, 0 };
	u8 code[5];

	if (rcx < 7 || !range_ok(vm, s, rcx - 7, 5, false))
		return false;
	if (copy_from_user(code, (const void __user *)(rcx - 7), sizeof(code)))
		return false;
	return !memcmp(code, site, sizeof(code));
}

static bool interrupted(long ret)
{
	return ret == -EINTR || ret == -ERESTARTSYS || ret == -ERESTARTNOINTR ||
	       ret == -ERESTARTNOHAND || ret == -ERESTART_RESTARTBLOCK;
}

/* The result of an interrupted call goes to the monitor, which delivers the signal and
 * restarts the call or fails it with EINTR exactly as after its own host call (whose
 * signal handlers have no SA_RESTART): -ERESTARTSYS/NOHAND/NOINTR become DUNE_RUN's own
 * result, so the kernel interrupts DUNE_RUN (EINTR) or restarts it (a stop, a handler-less
 * signal), and a restarted DUNE_RUN finds the guest still at the syscall and performs it
 * again, as a restarted host call would be. */
static int finish_interrupted(struct dune_vcpu *v, long ret)
{
	v->run->exit_reason = DUNE_EXIT_SYSCALL;
	v->run->syscall_ret = -EINTR;
	if (ret != -EINTR && ret != -ERESTART_RESTARTBLOCK && signal_pending(current))
		return (int)ret;
	return DUNE_SC_EXIT;
}

int dune_syscall_fast(struct dune_vcpu *v)
{
	const struct dune_sc *sc = smp_load_acquire(&v->vm->sc);
	const struct dune_backend *b = dune_backend();
	struct pt_regs regs;
	struct kvm_regs r;
	struct kvm_sregs s;
	u64 a[6];
	long ret;

	if (!sc || !READ_ONCE(v->run->kernel_calls))
		return DUNE_SC_MONITOR;
	b->get_state(v, &r, &s);
	if (r.rip != sc->entry || s.cs.dpl != 0 || (s.cs.selector & 3) || r.rcx >= SC_USER_END || r.rax >= SC_SPECS ||
	    !test_bit(r.rax, sc->allow) || !sc_fns[r.rax] || signal_pending(current))
		return DUNE_SC_MONITOR;
	a[0] = r.rdi, a[1] = r.rsi, a[2] = r.rdx, a[3] = r.r10, a[4] = r.r8, a[5] = r.r9;
	if (!args_ok(v, sc, &sc_specs[r.rax], a, &s))
		return DUNE_SC_MONITOR;
	if (r.rax == __NR_getpid && (sc->flags & DUNE_SC_GETPID_SITES) && getpid_site(v->vm, &s, r.rcx))
		return DUNE_SC_MONITOR;
	memset(&regs, 0, sizeof(regs));
	regs.di = a[0], regs.si = a[1], regs.dx = a[2], regs.r10 = a[3], regs.r8 = a[4], regs.r9 = a[5];
	regs.orig_ax = r.rax;
	regs.ax = -ENOSYS;
	ret = sc_fns[r.rax](&regs);
	v->run->kernel_syscalls++;
	atomic64_inc(&v->vm->stats->kernel_syscalls);
	if (interrupted(ret))
		return finish_interrupted(v, ret);
	r.rax = (u64)ret;
	r.rip = r.rcx;
	r.rflags = (r.r11 & SC_RFLAGS_USER) | SC_RFLAGS_FIXED;
	s.cs = sc->cs;
	s.ss = sc->ss;
	if (b->set_state(v, &r, &s)) {
		/* Cannot happen (the table's segments were checked): the monitor finishes it. */
		b->get_state(v, &r, &s);
		v->run->exit_reason = DUNE_EXIT_SYSCALL;
		v->run->syscall_ret = ret;
		return DUNE_SC_EXIT;
	}
	b->cancel_event(v);
	return DUNE_SC_RESUMED;
}
