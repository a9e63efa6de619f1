/* The module's in-kernel syscall fast path, seen from the monitor (kmod_policy.h). The table
 * is the monitor's own decision for each call number made in advance: a call is in it only
 * when the policy allows it whatever its arguments (policy_always_allows: no argument rule,
 * no errno/trap/log/notify action) and the monitor would forward it as made
 * (sb_forwarded_as_made: no emulation, no mirrored state, no path check), minus the calls
 * whose result the monitor finishes itself (wait4/waitid translation, socket address
 * lengths, received control data). The module intersects it with its own list and performs
 * a call only when the pointer and descriptor rules hold (kmod/syscall.c). */
#define _GNU_SOURCE
#include "kmod_policy.h"
#include "sandbox.h"

#include <string.h>
#include <sys/syscall.h>

/* Forwarded as made, but finished by the monitor after the host call. */
static bool finished_by_monitor(int nr)
{
	switch (nr) {
	case SYS_wait4: case SYS_waitid: case SYS_recvmsg: case SYS_sendmsg: case SYS_recvmmsg:
	case SYS_sendmmsg: case SYS_recvfrom: case SYS_accept: case SYS_accept4:
	case SYS_getsockname: case SYS_getpeername: case SYS_getsockopt: case SYS_sendto:
		return true;
	default:
		return false;
	}
}

void kc_setup(struct sb_proc *p, bool on)
{
	const struct hw_ops *hw = p->vm->hw;
	p->kc_on = false;
	if (!on || !hw->set_kernel_calls || p->trace)
		return;
	struct hw_kernel_calls k;
	memset(&k, 0, sizeof k);
	for (int nr = 0; nr < 512 && nr < SYSCALL_MAX; nr++)
		if (policy_always_allows(p->policy, nr) && sb_forwarded_as_made(nr) && !finished_by_monitor(nr))
			k.allow[nr / 64] |= 1ull << (nr % 64);
	/* With fast calls on, a getpid site's first exit rewrites it to a stub that answers in the
	 * guest with no exit at all, cheaper still: those sites reach the monitor. */
	k.getpid_sites = p->fc.enabled && p->fc.getpid_always;
	k.entry = EXIT_VA + EXIT_SYSCALL_OFF;
	vm_user_segments(&k.cs, &k.ss);
	/* What sb_is_monitor_fd refuses: the backend's descriptors (the module also recognises
	 * its own files, vCPUs included, by what they are), the image, the counters. */
	int n = hw->fds(p->vm->hw_vm, k.monitor_fds, 6);
	k.monitor_fds[n++] = p->self_fd;
	k.monitor_fds[n++] = p->stats_fd;
	for (; n < 8; n++)
		k.monitor_fds[n] = -1;
	for (int i = 0; i < 8; i++)
		if (k.monitor_fds[i] < -1)
			k.monitor_fds[i] = -1;
	p->kc_on = hw->set_kernel_calls(p->vm->hw_vm, &k) == 0;
}

void kc_before_run(struct sb_thread *t)
{
	struct sb_proc *p = t->p;
	const struct hw_ops *hw = p->vm->hw;
	if (!hw->allow_kernel_calls)
		return;
	/* One thread: no other vCPU can unmap a buffer the kernel is using or renumber a
	 * descriptor it checked (docs/security.md, "The in-kernel fast path"). */
	bool on = p->kc_on && !p->trace && p == p->mm && __atomic_load_n(&p->nthreads, __ATOMIC_SEQ_CST) == 1 &&
		  __atomic_load_n(&p->mm->fc.holds, __ATOMIC_SEQ_CST) == 0 && !p->pt_fc_held &&
		  !(p->pt_area && __atomic_load_n(&p->pt_area->traced, __ATOMIC_SEQ_CST));
	hw->allow_kernel_calls(t->vcpu->hw, on);
}

void kc_fold(struct sb_thread *t)
{
	const struct hw_ops *hw = t->p->vm->hw;
	if (!hw->take_kernel_calls)
		return;
	uint64_t n = hw->take_kernel_calls(t->vcpu->hw);
	if (n)
		__atomic_fetch_add(&t->p->stats->kernel_syscalls, n, __ATOMIC_RELAXED);
}
