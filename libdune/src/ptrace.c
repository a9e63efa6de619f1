/* ptrace for Dune processes, the tracee's side: its monitor publishes the guest state in the
 * stop area and stops itself at guest boundaries (the tracer's side is ptrace_tracer.c; the
 * protocol is in ptrace.h). */
#define _GNU_SOURCE
#include "sandbox.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#define RFLAGS_TF 0x100ull
#define SIGBIT(s) (1ull << ((s) - 1))
#define USER_CS 0x33 /* what Linux reports for a 64-bit task (the guest's own selector differs) */
#define USER_SS 0x2b

/* ---- tracee side ---- */

void pt_area_init(struct sb_proc *p, uint64_t rsp)
{
	void *m = mmap((void *)PT_AREA_VA, sizeof(struct pt_area), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (m == MAP_FAILED)
		return; /* the address is taken: this process cannot be traced */
	if (m != (void *)PT_AREA_VA) {
		munmap(m, sizeof(struct pt_area));
		return;
	}
	p->pt_area = m;
	p->pt_area->pml4 = (uint64_t)p->vm->pml4;
	/* The loader's auxiliary vector, above argc, argv and envp on the initial stack. */
	const uint64_t *w = (const uint64_t *)rsp;
	w += 1 + w[0] + 1;
	while (*w)
		w++;
	w++;
	for (int i = 0; i < PT_AUXV - 1 && w[2 * i] != AT_NULL; i++) {
		p->pt_area->auxv[2 * i] = w[2 * i];
		p->pt_area->auxv[2 * i + 1] = w[2 * i + 1];
	}
	p->pt_area->magic = PT_AREA_MAGIC;
}

void pt_thread_start(struct sb_thread *t)
{
	struct pt_area *a = t->p->pt_area;
	t->pt = NULL;
	t->pt_tf = false;
	if (!a || !t->vcpu || t->vcpu->index < 0 || t->vcpu->index >= PT_SLOTS)
		return;
	struct pt_slot *s = &a->slot[t->vcpu->index];
	if (s->tid != t->tid) {
		/* A new thread, or the child of a fork: not known to any tracer yet. */
		memset(s, 0, offsetof(struct pt_slot, regs));
		s->tid = t->tid;
	}
	s->live_regs = (uint64_t)vcpu_regs(t->vcpu);
	s->live_sregs = (uint64_t)vcpu_sregs(t->vcpu);
	uint64_t n = (uint64_t)t->vcpu->index + 1, cur = __atomic_load_n(&a->nslots, __ATOMIC_RELAXED);
	while (cur < n && !__atomic_compare_exchange_n(&a->nslots, &cur, n, false, __ATOMIC_SEQ_CST,
						       __ATOMIC_RELAXED))
		;
	t->pt = s;
}

/* The guest state as Linux shows it to a tracer. */
static void publish(struct sb_thread *t, uint64_t orig_rax, uint64_t rax)
{
	struct pt_slot *s = t->pt;
	const struct kvm_regs *r = vcpu_regs(t->vcpu);
	const struct kvm_sregs *sr = vcpu_sregs(t->vcpu);
	struct user_regs_struct *u = &s->regs;
	memset(u, 0, sizeof *u);
	u->r15 = r->r15, u->r14 = r->r14, u->r13 = r->r13, u->r12 = r->r12;
	u->rbp = r->rbp, u->rbx = r->rbx, u->r11 = r->r11, u->r10 = r->r10;
	u->r9 = r->r9, u->r8 = r->r8, u->rax = rax, u->rcx = r->rcx;
	u->rdx = r->rdx, u->rsi = r->rsi, u->rdi = r->rdi, u->orig_rax = orig_rax;
	u->rip = r->rip, u->cs = USER_CS, u->eflags = r->rflags & ~(t->pt_tf ? RFLAGS_TF : 0);
	u->rsp = r->rsp, u->ss = USER_SS, u->fs_base = sr->fs.base, u->gs_base = sr->gs.base;
	static __thread uint8_t x[4096];
	if (t->p->vm->hw->get_xsave(t->vcpu->hw, x) == 0)
		memcpy(s->fpu, x, sizeof s->fpu);
	else
		memset(s->fpu, 0, sizeof s->fpu);
}

/* What the tracer edited goes into the vCPU; vcpu_run checks it before the next entry. */
static void apply(struct sb_thread *t)
{
	struct pt_slot *s = t->pt;
	if (s->dirty & 1) {
		struct kvm_regs *r = vcpu_regs(t->vcpu);
		const struct user_regs_struct *u = &s->regs;
		r->r15 = u->r15, r->r14 = u->r14, r->r13 = u->r13, r->r12 = u->r12;
		r->rbp = u->rbp, r->rbx = u->rbx, r->r11 = u->r11, r->r10 = u->r10;
		r->r9 = u->r9, r->r8 = u->r8, r->rax = u->rax, r->rcx = u->rcx;
		r->rdx = u->rdx, r->rsi = u->rsi, r->rdi = u->rdi;
		r->rip = u->rip, r->rflags = u->eflags, r->rsp = u->rsp;
		vcpu_dirty(t->vcpu, 1, 0);
		struct kvm_sregs *sr = vcpu_sregs(t->vcpu);
		sr->fs.base = u->fs_base;
		sr->gs.base = u->gs_base;
		vcpu_dirty(t->vcpu, 0, 1);
	}
	if (s->dirty & 2) {
		static __thread uint8_t x[4096];
		if (t->p->vm->hw->get_xsave(t->vcpu->hw, x) == 0) {
			memcpy(x, s->fpu, sizeof s->fpu);
			t->p->vm->hw->set_xsave(t->vcpu->hw, x); /* refused (bad MXCSR): unchanged */
		}
	}
	s->dirty = 0;
}

/* Stop this thread for its tracer: a signal to itself that the tracer's monitor recognises
 * (magic, slot and sequence in r10, r8, r9 of the host call) and suppresses. False when no
 * tracer answered (it detached or died): the thread is not traced any more. */
static bool stop(struct sb_thread *t, int kind)
{
	struct pt_slot *s = t->pt;
	s->kind = (uint64_t)kind;
	s->dirty = 0;
	s->resume_sig = 0;
	uint64_t seq = s->stop_seq + 1;
	s->stop_seq = seq;
	__atomic_store_n(&s->stopping, 1, __ATOMIC_SEQ_CST);
	uint64_t unblock = SIGBIT(PT_STOP_SIG), old = 0;
	host_syscall(SYS_rt_sigprocmask, SIG_UNBLOCK, (uint64_t)&unblock, (uint64_t)&old, 8, 0, 0);
	t->pt_stopping = true;
	long pid = host_syscall(SYS_getpid, 0, 0, 0, 0, 0, 0);
	host_syscall(SYS_tgkill, (uint64_t)pid, (uint64_t)t->tid, PT_STOP_SIG, PT_AREA_MAGIC,
		     (uint64_t)(s - t->p->pt_area->slot), seq);
	t->pt_stopping = false;
	host_syscall(SYS_rt_sigprocmask, SIG_SETMASK, (uint64_t)&old, 0, 8, 0, 0);
	__atomic_store_n(&s->stopping, 0, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&s->resume_seq, __ATOMIC_SEQ_CST) != seq) {
		s->traced = 0;
		s->ack = 1;
		return false;
	}
	return true;
}

bool pt_is_own_stop(struct sb_thread *t, int sig, const siginfo_t *info)
{
	return sig == PT_STOP_SIG && t && t->pt_stopping && info->si_code == SI_TKILL &&
	       info->si_pid == (pid_t)host_syscall(SYS_getpid, 0, 0, 0, 0, 0, 0);
}

void pt_before_run(struct sb_thread *t)
{
	struct pt_slot *s = t->pt;
	if (!s)
		return;
	if (!s->ack && __atomic_load_n(&t->p->pt_area->traced, __ATOMIC_RELAXED)) {
		/* A thread its tracer does not know yet: tell it where this thread's slot is. */
		s->ack = 1;
		publish(t, (uint64_t)-1, vcpu_regs(t->vcpu)->rax);
		if (stop(t, PT_HELLO))
			apply(t);
	}
	if (s->traced && !t->p->pt_fc_held) {
		/* A tracer sees every system call: no call is answered in the guest any more. */
		fc_hold(&t->p->mm->fc);
		t->p->pt_fc_held = true;
	}
	if (s->traced && s->mode == PT_MODE_STEP && !t->pt_tf) {
		struct kvm_regs *r = vcpu_regs(t->vcpu);
		if (!(r->rflags & RFLAGS_TF)) {
			r->rflags |= RFLAGS_TF;
			vcpu_dirty(t->vcpu, 1, 0);
			t->pt_tf = true;
		}
	}
}

bool pt_after_exit(struct sb_thread *t)
{
	if (!t->pt_tf)
		return false;
	t->pt_tf = false;
	vcpu_regs(t->vcpu)->rflags &= ~RFLAGS_TF;
	vcpu_dirty(t->vcpu, 1, 0);
	return true;
}

bool pt_syscall_entry(struct sb_thread *t)
{
	struct pt_slot *s = t->pt;
	if (!s || !s->traced || s->mode != PT_MODE_SYSCALL)
		return true;
	uint64_t nr = vcpu_regs(t->vcpu)->rax;
	publish(t, nr, (uint64_t)-ENOSYS);
	t->pt_entered = stop(t, PT_SYSCALL_ENTRY);
	if (!t->pt_entered || !(s->dirty & 1)) {
		s->dirty = 0;
		return true;
	}
	uint64_t orig = s->regs.orig_rax;
	apply(t);
	if ((int64_t)orig == -1)
		return false; /* skipped: rax is what the tracer left there */
	vcpu_regs(t->vcpu)->rax = orig;
	return true;
}

void pt_syscall_exit(struct sb_thread *t, int nr)
{
	struct pt_slot *s = t->pt;
	bool entered = t->pt_entered;
	t->pt_entered = false;
	if (!s || !s->traced || !entered)
		return;
	publish(t, (uint64_t)(int64_t)nr, vcpu_regs(t->vcpu)->rax);
	if (stop(t, PT_SYSCALL_EXIT))
		apply(t);
}

int pt_signal(struct sb_thread *t, int sig, int code, uint64_t addr)
{
	struct pt_slot *s = t->pt;
	if (!s || !s->traced)
		return sig;
	publish(t, (uint64_t)-1, vcpu_regs(t->vcpu)->rax);
	memset(&s->info, 0, sizeof s->info);
	s->info.si_signo = sig;
	s->info.si_code = code;
	s->info.si_addr = (void *)addr;
	if (!stop(t, PT_SIGNAL))
		return sig;
	apply(t);
	int64_t r = s->resume_sig;
	return r > 0 && r < 65 ? (int)r : 0;
}

int pt_exec_arg(struct sb_thread *t)
{
	struct pt_slot *s = t->pt;
	if (!s || !s->traced)
		return -1;
	return t->pt_entered ? t->pt_nr : 0;
}

void pt_after_exec(struct sb_thread *t, int exec_nr)
{
	struct pt_slot *s = t->pt;
	if (exec_nr < 0 || !s)
		return;
	t->p->pt_area->traced = 1;
	s->traced = 1;
	s->ack = 1;
	publish(t, (uint64_t)-1, 0);
	if (!stop(t, PT_EXEC))
		return;
	apply(t);
	if (s->resume_sig > 0 && s->resume_sig < 65)
		sb_force_signal(t, (int)s->resume_sig, 0, 0, 0, 0, NULL);
	if (exec_nr > 0 && s->traced) {
		publish(t, (uint64_t)exec_nr, 0);
		if (stop(t, PT_SYSCALL_EXIT))
			apply(t);
	}
}
