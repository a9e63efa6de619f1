/* Signals for the program: dispositions mirrored onto the host so the
 * kernel keeps default actions and exit statuses exact; caught signals are
 * recorded by a tiny host handler and delivered by building the x86-64
 * rt_sigframe on the program's stack. */
#define _GNU_SOURCE
#include "phase_time.h"
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SA_RESTORER_FLAG 0x04000000
#ifndef SS_AUTODISARM
#define SS_AUTODISARM (1U << 31)
#endif
#define UNBLOCKABLE ((1ull << (SIGKILL - 1)) | (1ull << (SIGSTOP - 1)))
#define SIGBIT(s) (1ull << ((s) - 1))
#define FPSTATE_SIZE 512

/* Kernel layout of the x86-64 signal frame. */
struct k_sigcontext {
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15, rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, eflags;
	uint16_t cs, gs, fs, ss;
	uint64_t err, trapno, oldmask, cr2, fpstate, reserved[8];
};

struct k_ucontext {
	uint64_t uc_flags, uc_link;
	uint64_t ss_sp;
	int32_t ss_flags, pad;
	uint64_t ss_size;
	struct k_sigcontext mc;
	uint64_t sigmask;
};

struct k_rt_sigframe {
	uint64_t pretcode;
	struct k_ucontext uc;
	siginfo_t info;
};

static __thread struct sb_thread *current_thread;

void sb_bind_thread(struct sb_thread *t) { current_thread = t; }

/* The check of the caught signals and the blocking syscall in one window: rdi the thread's
 * pending word, rsi the signals that may interrupt, rdx { nr, six arguments }. A signal the
 * host handler records while the thread is past the check but before the syscall would
 * otherwise be seen only after the call returned, which for poll or wait4 can be never (gdb
 * hung in poll with the SIGCHLD of its tracee's stop recorded); the handler moves such a
 * thread back to the check (host_call_window), which then ends the call unmade with
 * SB_CALL_NOT_MADE: finish_call makes it again after the handler, as the kernel runs the
 * handler of a signal that came before a call and then the call. */
long sb_host_call_window(const uint64_t *pending, uint64_t interrupting, const uint64_t call[7]);
extern const char sb_host_call_check[], sb_host_call_made[];
__asm__(".text\n"
	".globl sb_host_call_window, sb_host_call_check, sb_host_call_made\n"
	".hidden sb_host_call_window, sb_host_call_check, sb_host_call_made\n"
	".type sb_host_call_window, @function\n"
	"sb_host_call_window:\n"
	"\tmov %rdi, %r11\n"
	"\tmov %rsi, %rcx\n"
	"\tmov %rdx, %rax\n"
	"\tmov 8(%rax), %rdi\n"
	"\tmov 16(%rax), %rsi\n"
	"\tmov 24(%rax), %rdx\n"
	"\tmov 32(%rax), %r10\n"
	"\tmov 40(%rax), %r8\n"
	"\tmov 48(%rax), %r9\n"
	"\tmov (%rax), %rax\n"
	"sb_host_call_check:\n"
	"\ttest %rcx, (%r11)\n"
	"\tjnz 1f\n"
	"\tsyscall\n"
	"sb_host_call_made:\n"
	"\tret\n"
	"1:\tmov $-513, %rax\n" /* SB_CALL_NOT_MADE */
	"\tret\n"
	".size sb_host_call_window, .-sb_host_call_window\n");

static long host_call_masked(uint64_t interrupting, long nr, uint64_t a, uint64_t b, uint64_t c, uint64_t d,
			     uint64_t e, uint64_t f)
{
	struct sb_thread *t = current_thread;
	if (!t)
		return host_syscall(nr, a, b, c, d, e, f);
	const uint64_t call[7] = { (uint64_t)nr, a, b, c, d, e, f };
	return sb_host_call_window(&t->pending, interrupting, call);
}

long sb_host_call(long nr, uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e, uint64_t f)
{
	struct sb_thread *t = current_thread;
	return host_call_masked(t ? ~t->mask : 0, nr, a, b, c, d, e, f);
}

/* In the handler: a thread between the check and its syscall goes back to the check. */
static void host_call_window(void *uc)
{
	greg_t *rip = &((ucontext_t *)uc)->uc_mcontext.gregs[REG_RIP];
	if ((uint64_t)*rip > (uint64_t)sb_host_call_check && (uint64_t)*rip < (uint64_t)sb_host_call_made)
		*rip = (greg_t)sb_host_call_check;
}

/* Host handler for signals the program catches: record and kick the vCPU. */
static void on_host_signal(int sig, siginfo_t *info, void *uc)
{
	struct sb_thread *t = current_thread;
	if (pt_is_own_stop(t, sig, info))
		return; /* the monitor's stop for a tracer that is gone (ptrace.c) */
	bool sync = (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE || sig == SIGTRAP) &&
		    info->si_code > 0;
	if (!t || sync) {
		/* The monitor itself faulted: let the default action end it. */
		signal(sig, SIG_DFL);
		return;
	}
	t->info[sig] = *info;
	__atomic_fetch_or(&t->pending, SIGBIT(sig), __ATOMIC_SEQ_CST);
	host_call_window(uc);
	t->p->vm->hw->kick(t->vcpu->hw);
}

static void host_disposition(struct sb_proc *p, int sig)
{
	const struct guest_sigaction *g = &p->act[sig];
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	if (g->handler == (uint64_t)SIG_DFL || g->handler == (uint64_t)SIG_IGN) {
		sa.sa_handler = (void (*)(int))g->handler;
		sa.sa_flags = (int)(g->flags & (SA_NOCLDSTOP | SA_NOCLDWAIT));
	} else {
		sa.sa_sigaction = on_host_signal;
		/* No SA_RESTART: the monitor restarts calls itself after the
		 * program's handler ran, as the kernel would. */
		sa.sa_flags = SA_SIGINFO | (int)(g->flags & (SA_NOCLDSTOP | SA_NOCLDWAIT));
		sigfillset(&sa.sa_mask);
	}
	sigaction(sig, &sa, NULL);
}

void sb_signals_init(struct sb_proc *p)
{
	/* Ignored signals stay ignored across exec; everything else is default. */
	for (int sig = 1; sig < 65; sig++) {
		struct sigaction old;
		memset(&p->act[sig], 0, sizeof p->act[sig]);
		if (sig != SIGKILL && sig != SIGSTOP && sigaction(sig, NULL, &old) == 0 && old.sa_handler == SIG_IGN)
			p->act[sig].handler = (uint64_t)SIG_IGN;
		else if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	}
}

static void set_host_mask(uint64_t mask)
{
	mask &= ~UNBLOCKABLE;
	host_syscall(SYS_rt_sigprocmask, SIG_SETMASK, (uint64_t)&mask, 0, 8, 0, 0);
}

long sb_rt_sigaction(struct sb_thread *t, int sig, uint64_t act, uint64_t oact, uint64_t size)
{
	struct sb_proc *p = t->p;
	if (size != 8 || sig < 1 || sig > 64)
		return -EINVAL;
	if (act && (sig == SIGKILL || sig == SIGSTOP))
		return -EINVAL;
	if (act && !sb_range_ok(p, act, sizeof(struct guest_sigaction), PROT_READ))
		return -EFAULT;
	if (oact && !sb_range_ok(p, oact, sizeof(struct guest_sigaction), PROT_WRITE))
		return -EFAULT;
	pthread_mutex_lock(&p->lock);
	struct guest_sigaction old = p->act[sig];
	if (act) {
		memcpy(&p->act[sig], (void *)act, sizeof p->act[sig]);
		p->act[sig].mask &= ~UNBLOCKABLE;
		host_disposition(p, sig);
	}
	pthread_mutex_unlock(&p->lock);
	if (oact)
		memcpy((void *)oact, &old, sizeof old);
	return 0;
}

long sb_rt_sigprocmask(struct sb_thread *t, int how, uint64_t set, uint64_t oset, uint64_t size)
{
	if (size != 8)
		return -EINVAL;
	if (set && !sb_range_ok(t->p, set, 8, PROT_READ))
		return -EFAULT;
	if (oset && !sb_range_ok(t->p, oset, 8, PROT_WRITE))
		return -EFAULT;
	uint64_t old = t->mask;
	if (set) {
		uint64_t s = *(uint64_t *)set;
		switch (how) {
		case SIG_BLOCK: t->mask |= s; break;
		case SIG_UNBLOCK: t->mask &= ~s; break;
		case SIG_SETMASK: t->mask = s; break;
		default: return -EINVAL;
		}
		t->mask &= ~UNBLOCKABLE;
		set_host_mask(t->mask);
	}
	if (oset)
		*(uint64_t *)oset = old;
	return 0;
}

static bool on_altstack(struct sb_thread *t, uint64_t sp)
{
	return !(t->alt.ss_flags & SS_DISABLE) && t->alt.ss_size &&
	       sp > (uint64_t)t->alt.ss_sp && sp <= (uint64_t)t->alt.ss_sp + t->alt.ss_size;
}

long sb_sigaltstack(struct sb_thread *t, uint64_t ss, uint64_t oss)
{
	uint64_t sp = vcpu_regs(t->vcpu)->rsp;
	if (ss && !sb_range_ok(t->p, ss, sizeof(stack_t), PROT_READ))
		return -EFAULT;
	if (oss && !sb_range_ok(t->p, oss, sizeof(stack_t), PROT_WRITE))
		return -EFAULT;
	stack_t old = t->alt;
	if (t->alt.ss_size == 0 && !t->alt.ss_sp)
		old.ss_flags = SS_DISABLE;
	if (on_altstack(t, sp))
		old.ss_flags = SS_ONSTACK;
	if (ss) {
		stack_t n;
		memcpy(&n, (void *)ss, sizeof n);
		if (on_altstack(t, sp))
			return -EPERM;
		if (n.ss_flags & ~(SS_DISABLE | SS_AUTODISARM))
			return -EINVAL;
		if (n.ss_flags & SS_DISABLE) {
			memset(&t->alt, 0, sizeof t->alt);
			t->alt.ss_flags = SS_DISABLE;
		} else {
			if (n.ss_size < 2048)
				return -ENOMEM;
			t->alt = n;
		}
	}
	if (oss)
		memcpy((void *)oss, &old, sizeof old);
	return 0;
}

long sb_rt_sigpending(struct sb_thread *t, uint64_t set, uint64_t size)
{
	if (size != 8)
		return -EINVAL;
	if (!sb_range_ok(t->p, set, 8, PROT_WRITE))
		return -EFAULT;
	uint64_t host = 0;
	long rc = host_syscall(SYS_rt_sigpending, (uint64_t)&host, 8, 0, 0, 0, 0);
	if (rc)
		return rc;
	*(uint64_t *)set = host | (__atomic_load_n(&t->pending, __ATOMIC_SEQ_CST) & t->mask);
	return 0;
}

long sb_rt_sigsuspend(struct sb_thread *t, uint64_t set, uint64_t size)
{
	if (size != 8)
		return -EINVAL;
	if (!sb_range_ok(t->p, set, 8, PROT_READ))
		return -EFAULT;
	uint64_t m = *(uint64_t *)set & ~UNBLOCKABLE;
	t->saved_mask = t->mask;
	t->suspend_mask = true;
	t->mask = m;
	/* Something may already be waiting for this mask. */
	host_call_masked(~m, SYS_rt_sigsuspend, (uint64_t)&m, 8, 0, 0, 0, 0);
	set_host_mask(t->mask);
	return -EINTR;
}

_Noreturn void sb_die_by_signal(struct sb_proc *p, int sig)
{
	sb_futex_process_exit(p);
	sb_write_stats(p);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	sigaction(sig, &sa, NULL);
	uint64_t m = ~SIGBIT(sig);
	host_syscall(SYS_rt_sigprocmask, SIG_SETMASK, (uint64_t)&m, 0, 8, 0, 0);
	host_syscall(SYS_kill, (uint64_t)getpid(), (uint64_t)sig, 0, 0, 0, 0);
	/* Still alive: we are a namespace's init, which ignores signals it
	 * sends itself. The kernel still kills init for a real fault, as it
	 * would the program: raise the same one. */
	switch (sig) {
	case SIGSEGV: {
		volatile int *nul = NULL;
		__asm__("" : "+r"(nul));
		*nul = 0;
		break;
	}
	case SIGILL:
		__asm__ volatile("ud2");
		break;
	case SIGTRAP:
		__asm__ volatile("int3");
		break;
	case SIGFPE: {
		volatile int zero = 0;
		zero = 1 / zero;
		break;
	}
	case SIGBUS: {
		int fd = memfd_create("dune-sigbus", MFD_CLOEXEC);
		volatile char *m = fd >= 0 ? mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0) : MAP_FAILED;
		if (m != MAP_FAILED)
			(void)*m;
		break;
	}
	case SIGSYS: {
		/* One BPF instruction: kill the process. */
		struct { uint16_t code; uint8_t jt, jf; uint32_t k; } insn = { 0x06, 0, 0, 0x80000000u };
		struct { uint16_t len; void *filter; } prog = { 1, &insn };
		prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
		host_syscall(SYS_seccomp, 1 /* SECCOMP_SET_MODE_FILTER */, 0, (uint64_t)&prog, 0, 0, 0);
		host_syscall(SYS_getpid, 0, 0, 0, 0, 0, 0);
		break;
	}
	default:
		break;
	}
	/* Default action is to ignore or stop-and-continue: nothing else to do. */
	host_syscall(SYS_exit_group, 128 + (uint64_t)sig, 0, 0, 0, 0, 0);
	__builtin_unreachable();
}

static bool default_ignores(int sig)
{
	return sig == SIGCHLD || sig == SIGURG || sig == SIGWINCH || sig == SIGCONT;
}

/* Build the frame and point the vCPU at the handler. */
static bool setup_frame(struct sb_thread *t, int sig, const siginfo_t *info, int trapno, uint64_t err,
			uint64_t cr2)
{
	struct sb_proc *p = t->p;
	struct guest_sigaction act;
	pthread_mutex_lock(&p->lock);
	act = p->act[sig];
	if (act.flags & SA_RESETHAND) {
		p->act[sig].handler = (uint64_t)SIG_DFL;
		host_disposition(p, sig);
	}
	pthread_mutex_unlock(&p->lock);
	if (!(act.flags & SA_RESTORER_FLAG))
		return false;
	struct kvm_regs *r = vcpu_regs(t->vcpu);
	uint64_t sp = r->rsp;
	bool was_on = on_altstack(t, sp);
	if ((act.flags & SA_ONSTACK) && !was_on && !(t->alt.ss_flags & SS_DISABLE) && t->alt.ss_size)
		sp = (uint64_t)t->alt.ss_sp + t->alt.ss_size;
	else
		sp -= 128; /* red zone */
	sp = (sp - FPSTATE_SIZE) & ~63ull;
	uint64_t fp = sp;
	sp = ((sp - sizeof(struct k_rt_sigframe)) & ~15ull) - 8;
	if (!sb_range_ok(p, sp, fp + FPSTATE_SIZE - sp, PROT_WRITE))
		return false;
	static __thread uint8_t xsave[4096] __attribute__((aligned(64)));
	if (p->vm->hw->get_xsave(t->vcpu->hw, xsave) == 0)
		memcpy((void *)fp, xsave, FPSTATE_SIZE);
	struct k_rt_sigframe *f = (struct k_rt_sigframe *)sp;
	memset(f, 0, sizeof *f);
	f->pretcode = act.restorer;
	f->uc.uc_flags = 0x6; /* UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS */
	f->uc.ss_sp = (uint64_t)t->alt.ss_sp;
	f->uc.ss_flags = was_on ? SS_ONSTACK : t->alt.ss_flags;
	f->uc.ss_size = t->alt.ss_size;
	struct k_sigcontext *mc = &f->uc.mc;
	mc->r8 = r->r8, mc->r9 = r->r9, mc->r10 = r->r10, mc->r11 = r->r11;
	mc->r12 = r->r12, mc->r13 = r->r13, mc->r14 = r->r14, mc->r15 = r->r15;
	mc->rdi = r->rdi, mc->rsi = r->rsi, mc->rbp = r->rbp, mc->rbx = r->rbx;
	mc->rdx = r->rdx, mc->rax = r->rax, mc->rcx = r->rcx, mc->rsp = r->rsp;
	mc->rip = r->rip, mc->eflags = r->rflags;
	mc->cs = 0x33, mc->ss = 0x2b;
	mc->err = err, mc->trapno = (uint64_t)trapno, mc->cr2 = cr2;
	mc->fpstate = fp;
	uint64_t frame_mask = t->suspend_mask ? t->saved_mask : t->mask;
	t->suspend_mask = false;
	mc->oldmask = frame_mask;
	f->uc.sigmask = frame_mask;
	f->info = *info;
	if ((act.flags & SA_ONSTACK) && (t->alt.ss_flags & SS_AUTODISARM)) {
		memset(&t->alt, 0, sizeof t->alt);
		t->alt.ss_flags = SS_DISABLE;
	}
	r->rsp = sp;
	r->rip = act.handler;
	r->rdi = (uint64_t)sig;
	r->rsi = (uint64_t)&f->info;
	r->rdx = (uint64_t)&f->uc;
	r->rax = 0;
	r->rflags &= ~(0x400ull | 0x100ull); /* DF, TF */
	vcpu_dirty(t->vcpu, 1, 0);
	t->mask = frame_mask | act.mask | ((act.flags & SA_NODEFER) ? 0 : SIGBIT(sig));
	t->mask &= ~UNBLOCKABLE;
	set_host_mask(t->mask);
	__atomic_fetch_add(&p->stats->signals, 1, __ATOMIC_RELAXED);
	return true;
}

static void deliver(struct sb_thread *t, int sig, const siginfo_t *info, int trapno, uint64_t err, uint64_t cr2)
{
	struct sb_proc *p = t->p;
	pthread_mutex_lock(&p->lock);
	uint64_t h = p->act[sig].handler;
	pthread_mutex_unlock(&p->lock);
	if (h == (uint64_t)SIG_IGN)
		return;
	if (h == (uint64_t)SIG_DFL) {
		if (default_ignores(sig))
			return;
		sb_die_by_signal(p, sig);
	}
	if (!setup_frame(t, sig, info, trapno, err, cr2))
		sb_die_by_signal(p, SIGSEGV);
}

void sb_deliver_pending(struct sb_thread *t)
{
	for (;;) {
		uint64_t pend = __atomic_load_n(&t->pending, __ATOMIC_SEQ_CST);
		uint64_t ready = pend & ~t->mask;
		if (!ready)
			return;
		int sig = __builtin_ctzll(ready) + 1;
		siginfo_t info = t->info[sig];
		__atomic_fetch_and(&t->pending, ~SIGBIT(sig), __ATOMIC_SEQ_CST);
		deliver(t, sig, &info, 0, 0, 0);
	}
}

void sb_force_signal(struct sb_thread *t, int sig, int code, uint64_t addr, int trapno, uint64_t err,
		     const siginfo_t *extra)
{
	struct sb_proc *p = t->p;
	siginfo_t info;
	if (extra) {
		info = *extra;
	} else {
		memset(&info, 0, sizeof info);
		info.si_signo = sig;
		info.si_code = code;
		info.si_addr = (void *)addr;
	}
	pthread_mutex_lock(&p->lock);
	uint64_t h = p->act[sig].handler;
	pthread_mutex_unlock(&p->lock);
	/* Like force_sig_fault: blocked or ignored synchronous signals kill. */
	if ((t->mask & SIGBIT(sig)) || h == (uint64_t)SIG_IGN || h == (uint64_t)SIG_DFL)
		sb_die_by_signal(p, sig);
	if (!setup_frame(t, sig, &info, trapno, err, addr))
		sb_die_by_signal(p, SIGSEGV);
}

long sb_rt_sigreturn(struct sb_thread *t)
{
	struct sb_proc *p = t->p;
	struct kvm_regs *r = vcpu_regs(t->vcpu);
	uint64_t ucp = r->rsp; /* the restorer's ret popped pretcode */
	if (!sb_range_ok(p, ucp, sizeof(struct k_ucontext), PROT_READ))
		sb_die_by_signal(p, SIGSEGV);
	const struct k_ucontext *uc = (const struct k_ucontext *)ucp;
	const struct k_sigcontext *mc = &uc->mc;
	r->r8 = mc->r8, r->r9 = mc->r9, r->r10 = mc->r10, r->r11 = mc->r11;
	r->r12 = mc->r12, r->r13 = mc->r13, r->r14 = mc->r14, r->r15 = mc->r15;
	r->rdi = mc->rdi, r->rsi = mc->rsi, r->rbp = mc->rbp, r->rbx = mc->rbx;
	r->rdx = mc->rdx, r->rax = mc->rax, r->rcx = mc->rcx, r->rsp = mc->rsp;
	r->rip = mc->rip;
	r->rflags = (r->rflags & ~0x254dd5ull) | (mc->eflags & 0x254dd5ull) | 0x2;
	vcpu_dirty(t->vcpu, 1, 0);
	if (mc->fpstate && sb_range_ok(p, mc->fpstate, FPSTATE_SIZE, PROT_READ)) {
		static __thread uint8_t xsave[4096] __attribute__((aligned(64)));
		if (p->vm->hw->get_xsave(t->vcpu->hw, xsave) == 0) {
			memcpy(xsave, (void *)mc->fpstate, FPSTATE_SIZE);
			uint64_t bv;
			memcpy(&bv, xsave + 512, 8);
			bv |= 3; /* x87 and SSE state are live, not in init state */
			memcpy(xsave + 512, &bv, 8);
			/* Reserved MXCSR bits would make the restore fail. */
			uint32_t mxcsr;
			memcpy(&mxcsr, xsave + 24, 4);
			mxcsr &= 0xffff;
			memcpy(xsave + 24, &mxcsr, 4);
			p->vm->hw->set_xsave(t->vcpu->hw, xsave);
		}
	}
	t->mask = uc->sigmask & ~UNBLOCKABLE;
	set_host_mask(t->mask);
	if (!(uc->ss_flags & SS_ONSTACK) && uc->ss_size >= 2048) {
		t->alt.ss_sp = (void *)uc->ss_sp;
		t->alt.ss_size = uc->ss_size;
		t->alt.ss_flags = uc->ss_flags & SS_AUTODISARM;
	}
	/* A RIP or RSP no program can run at is refused by vcpu_run before the
	 * guest is entered, with the fault the kernel's iret would give. */
	return 0;
}

/* After -EINTR: restart the call if every signal about to be handled asked
 * for SA_RESTART (the kernel's -ERESTARTSYS). */
bool sb_should_restart(struct sb_thread *t)
{
	uint64_t ready = __atomic_load_n(&t->pending, __ATOMIC_SEQ_CST) & ~t->mask;
	if (!ready)
		return false;
	bool all = true;
	pthread_mutex_lock(&t->p->lock);
	for (int sig = 1; sig < 65; sig++)
		if ((ready & SIGBIT(sig)) && !(t->p->act[sig].flags & SA_RESTART) &&
		    t->p->act[sig].handler != (uint64_t)SIG_IGN)
			all = false;
	pthread_mutex_unlock(&t->p->lock);
	return all;
}

void sb_write_stats(struct sb_proc *p)
{
	if (!p->is_root || !p->stats_path)
		return;
	FILE *f = fopen(p->stats_path, "we");
	if (!f)
		return;
	sb_stats_json(p->stats, p->vm->hw->name, f);
	fclose(f);
}

void sb_stats_json(const struct sb_stats *s, const char *backend, FILE *f)
{
	fprintf(f, "{\"backend\":\"%s\",\"exits\":%lu,\"syscalls\":%lu,\"syscalls_forwarded\":%lu,"
		   "\"syscalls_denied\":%lu,\"page_faults\":%lu,\"vcpus\":%lu,\"signals_delivered\":%lu,"
		   "\"processes\":%lu,\"fastcalls\":%lu,\"fastcall_sites\":%lu,\"kernel_syscalls\":%lu,"
		   "\"denied_by_name\":{",
		backend, s->exits, s->syscalls, s->forwarded, s->denied, s->page_faults, s->vcpus,
		s->signals, s->processes, s->fastcalls, s->fastcall_sites, s->kernel_syscalls);
	bool first = true;
	for (int i = 0; i < SYSCALL_MAX; i++) {
		if (!s->denied_by_nr[i])
			continue;
		const char *n = sys_name(i);
		if (n)
			fprintf(f, "%s\"%s\":%lu", first ? "" : ",", n, s->denied_by_nr[i]);
		else
			fprintf(f, "%s\"syscall_%d\":%lu", first ? "" : ",", i, s->denied_by_nr[i]);
		first = false;
	}
	fprintf(f, "}}\n");
}

_Noreturn void sb_exit_group(struct sb_proc *p, int status)
{
	phase_mark("exit-group");
	sb_futex_process_exit(p);
	sb_write_stats(p);
	host_syscall(SYS_exit_group, (uint64_t)status, 0, 0, 0, 0, 0);
	__builtin_unreachable();
}
