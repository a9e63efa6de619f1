/* Dune processes and threads: start-up, the monitor loop, clone (threads
 * get a vCPU, forks build a new VM), execve (a fresh dune-run image) and
 * exit. */
#define _GNU_SOURCE
#include "phase_time.h"
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <sched.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "identity.h"
#include "loader.h"

static long sb_clone(struct sb_thread *t, uint64_t flags, uint64_t newsp, uint64_t ptid, uint64_t ctid,
		     uint64_t tls, enum sb_done *done);
static long sb_execve(struct sb_thread *t, int dirfd, uint64_t gpath, uint64_t gargv, uint64_t genvp, int flags);
static _Noreturn void sb_exit_thread(struct sb_thread *t, int status);

/* What the system-call layer reaches of this one (sandbox.h, struct sb_process_ops). */
static const struct sb_process_ops process_ops = {
	.clone = sb_clone,
	.execve = sb_execve,
	.exit_thread = sb_exit_thread,
};

#define AUDIT_ARCH_X86_64 0xc000003eu

static void trace_call(struct sb_thread *t, int nr, const uint64_t a[6], long ret, const char *note)
{
	char buf[256];
	const char *n = sys_name(nr);
	int len = snprintf(buf, sizeof buf, "[dune %d] %s%s(%#lx, %#lx, %#lx, %#lx) = %ld%s%s\n", t->tid,
			   n ? n : "syscall_", n ? "" : "?", a[0], a[1], a[2], a[3], ret, note ? " " : "",
			   note ? note : "");
	if (len > 0)
		host_syscall(SYS_write, (uint64_t)t->p->trace_fd, (uint64_t)buf,
			     (uint64_t)(len < (int)sizeof buf ? len : (int)sizeof buf - 1), 0, 0, 0);
}

/* Calls the kernel reports as interrupted even under SA_RESTART. */
static bool never_restarted(int nr)
{
	switch (nr) {
	case SYS_pause: case SYS_rt_sigsuspend: case SYS_poll: case SYS_ppoll: case SYS_select:
	case SYS_pselect6: case SYS_epoll_wait: case SYS_epoll_pwait: case SYS_epoll_pwait2:
	case SYS_nanosleep: case SYS_clock_nanosleep: case SYS_rt_sigtimedwait:
		return true;
	default:
		return false;
	}
}

/* The call's result into the guest, or its restart after the handler of the signal that
 * interrupted it. */
static void finish_call(struct sb_thread *t, int nr, long ret)
{
	struct kvm_regs *r = vcpu_regs(t->vcpu);
	if (ret == SB_CALL_NOT_MADE || (ret == -EINTR && !never_restarted(nr) && sb_should_restart(t))) {
		/* Re-execute the syscall instruction after the handler. */
		r->rip -= 2;
		r->rax = (uint64_t)nr;
	} else {
		r->rax = (uint64_t)ret;
	}
	vcpu_dirty(t->vcpu, 1, 0);
}

static void run_syscall(struct sb_thread *t)
{
	struct sb_proc *p = t->p;
	struct kvm_regs *r = vcpu_regs(t->vcpu);
	int nr = (int)r->rax;
	uint64_t a[6] = { r->rdi, r->rsi, r->rdx, r->r10, r->r8, r->r9 };
	uint64_t orig[6];
	memcpy(orig, a, sizeof a);
	__atomic_fetch_add(&p->stats->syscalls, 1, __ATOMIC_RELAXED);
	struct pol_verdict v = policy_check(p->policy, nr, a);
	long ret;
	const char *note = NULL;
	switch (v.action) {
	case ACT_ALLOW:
	case ACT_LOG:
	case ACT_NOTIFY:
		break;
	case ACT_KILL_THREAD:
	case ACT_KILL_PROCESS:
		__atomic_fetch_add(&p->stats->denied, 1, __ATOMIC_RELAXED);
		if (nr >= 0 && nr < SYSCALL_MAX)
			__atomic_fetch_add(&p->stats->denied_by_nr[nr], 1, __ATOMIC_RELAXED);
		if (p->trace)
			trace_call(t, nr, a, 0, "killed by policy");
		/* KILL_THREAD ends only this thread unless it is the last one. */
		if (v.action == ACT_KILL_THREAD) {
			pthread_mutex_lock(&p->lock);
			bool others = p->nthreads > 1;
			pthread_mutex_unlock(&p->lock);
			if (others)
				sb_exit_thread(t, 0);
		}
		sb_die_by_signal(p, SIGSYS);
	case ACT_TRAP: {
		__atomic_fetch_add(&p->stats->denied, 1, __ATOMIC_RELAXED);
		if (nr >= 0 && nr < SYSCALL_MAX)
			__atomic_fetch_add(&p->stats->denied_by_nr[nr], 1, __ATOMIC_RELAXED);
		if (p->trace)
			trace_call(t, nr, a, -ENOSYS, "trapped by policy");
		siginfo_t info;
		memset(&info, 0, sizeof info);
		info.si_signo = SIGSYS;
		info.si_code = 1; /* SYS_SECCOMP */
		info.si_errno = v.errno_ret;
		info.si_call_addr = (void *)(r->rip - 2);
		info.si_syscall = nr;
		info.si_arch = AUDIT_ARCH_X86_64;
		r->rax = (uint64_t)nr; /* the handler sees the call rolled back */
		vcpu_dirty(t->vcpu, 1, 0);
		sb_force_signal(t, SIGSYS, 1, 0, 0, 0, &info);
		return;
	}
	case ACT_ERRNO:
	case ACT_TRACE:
		__atomic_fetch_add(&p->stats->denied, 1, __ATOMIC_RELAXED);
		if (nr >= 0 && nr < SYSCALL_MAX)
			__atomic_fetch_add(&p->stats->denied_by_nr[nr], 1, __ATOMIC_RELAXED);
		ret = v.action == ACT_TRACE ? -ENOSYS : -(long)v.errno_ret;
		if (p->trace)
			trace_call(t, nr, a, ret, "denied by policy");
		r->rax = (uint64_t)ret;
		vcpu_dirty(t->vcpu, 1, 0);
		return;
	}
	if (v.action == ACT_LOG)
		note = "logged by policy";
	else if (v.action == ACT_NOTIFY)
		note = "for the seccomp listener";
	__atomic_fetch_add(&p->stats->forwarded, 1, __ATOMIC_RELAXED);
	enum sb_done done;
	ret = sb_syscall(t, nr, a, &done);
	fc_after_call(t, nr, ret);
	if (p->trace)
		trace_call(t, nr, orig, ret, note ? note : (ret == -ENOSYS ? "(not supported by the monitor)" : NULL));
	if (done == SB_NORET)
		return;
	finish_call(t, nr, ret);
}

/* A call the module performed in the kernel and a signal interrupted (kmod_policy.h): only
 * unconditionally allowed calls are performed there, never under a tracer or --trace. */
static void finish_kernel_call(struct sb_thread *t)
{
	struct kvm_regs *r = vcpu_regs(t->vcpu);
	__atomic_fetch_add(&t->p->stats->syscalls, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&t->p->stats->forwarded, 1, __ATOMIC_RELAXED);
	finish_call(t, (int)r->rax, t->vcpu->kernel_ret);
}

/* A guest system call, with the syscall stops of a tracer (ptrace.c) around it; stepped: the
 * tracer single-steps this thread, which stops again after the call as natively. */
static void handle_syscall(struct sb_thread *t, bool stepped)
{
	t->pt_nr = (int)vcpu_regs(t->vcpu)->rax;
	if (pt_syscall_entry(t)) {
		t->pt_nr = (int)vcpu_regs(t->vcpu)->rax; /* the tracer may have changed it */
		run_syscall(t);
	}
	pt_syscall_exit(t, t->pt_nr);
	if (stepped) {
		int sig = pt_signal(t, SIGTRAP, 2 /* TRAP_TRACE */, vcpu_regs(t->vcpu)->rip);
		if (sig)
			sb_force_signal(t, sig, 2, vcpu_regs(t->vcpu)->rip, 1, 0, NULL);
	}
}

static void handle_exception(struct sb_thread *t)
{
	struct dune_vcpu *v = t->vcpu;
	struct kvm_regs *r = vcpu_regs(v);
	int sig = SIGSEGV, code = 0x80; /* SI_KERNEL */
	uint64_t addr = 0;
	switch (v->vector) {
	case 14:
		if (fa_fault(&t->p->mm->fa, v->vm, v->cr2, v->error_code))
			return; /* a fault-around tripwire, now mapped: retry */
		__atomic_fetch_add(&t->p->stats->page_faults, 1, __ATOMIC_RELAXED);
		code = (v->error_code & 1) ? 2 /* SEGV_ACCERR */ : 1 /* SEGV_MAPERR */;
		addr = v->cr2;
		break;
	case 0: sig = SIGFPE; code = 1; addr = r->rip; break;           /* FPE_INTDIV */
	case 16: case 19: sig = SIGFPE; code = 7; addr = r->rip; break; /* FPE_FLTINV */
	case 6: sig = SIGILL; code = 2; addr = r->rip; break;           /* ILL_ILLOPN */
	case 1: sig = SIGTRAP; code = 2; addr = r->rip; break;          /* TRAP_TRACE */
	case 3: sig = SIGTRAP; code = 0x80; break;
	case 17: sig = SIGBUS; code = 1; addr = v->cr2; break;          /* BUS_ADRALN */
	case 11: case 12: sig = SIGBUS; code = 0x80; break;
	default: break;
	}
	if (t->p->trace) {
		char buf[160];
		int n = snprintf(buf, sizeof buf, "[dune %d] exception %d at %#llx (error %#lx, address %#lx)\n",
				 t->tid, v->vector, r->rip, v->error_code, v->cr2);
		host_syscall(SYS_write, (uint64_t)t->p->trace_fd, (uint64_t)buf, (uint64_t)n, 0, 0, 0);
	}
	/* A tracer sees the signal first and may suppress or change it (ptrace.c). */
	int traced_sig = pt_signal(t, sig, code, addr);
	if (!traced_sig)
		return;
	if (traced_sig != sig)
		code = 0; /* SI_USER */
	sb_force_signal(t, traced_sig, code, addr, v->vector, v->error_code, NULL);
}

_Noreturn void sb_thread_loop(struct sb_thread *t)
{
	sb_bind_thread(t);
	for (;;) {
		sb_hull_reset(t);
		sb_deliver_pending(t);
		pt_before_run(t);
		kc_before_run(t);
		enum dune_event ev = vcpu_run(t->vcpu);
		bool stepped = pt_after_exit(t);
		__atomic_fetch_add(&t->p->stats->exits, 1, __ATOMIC_RELAXED);
		fc_fold(&t->p->mm->fc, t->p->stats);
		kc_fold(t);
		switch (ev) {
		case EV_SYSCALL:
			handle_syscall(t, stepped);
			break;
		case EV_SYSCALL_DONE:
			finish_kernel_call(t);
			break;
		case EV_EXCEPTION:
			handle_exception(t);
			break;
		case EV_INTERRUPT:
			break;
		case EV_MEMFAULT:
			sb_force_signal(t, SIGBUS, 2 /* BUS_ADRERR */, 0, 14, 0, NULL);
			break;
		case EV_FATAL: {
			char buf[160];
			int n = snprintf(buf, sizeof buf, "dune-run: the guest vCPU stopped in an unexpected state (rip %#llx)\n",
					 vcpu_regs(t->vcpu)->rip);
			host_syscall(SYS_write, 2, (uint64_t)buf, (uint64_t)n, 0, 0, 0);
			sb_die_by_signal(t->p, SIGSEGV);
		}
		}
	}
}

static void add_thread(struct sb_proc *p, struct sb_thread *t)
{
	pthread_mutex_lock(&p->lock);
	t->next = p->threads;
	p->threads = t;
	p->nthreads++;
	pthread_mutex_unlock(&p->lock);
	__atomic_fetch_add(&p->stats->vcpus, 1, __ATOMIC_RELAXED);
}

/* ---- threads ---- */

struct thread_start {
	struct sb_thread *parent, *child;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	uint64_t flags, newsp, ptid, ctid, tls;
	sem_t ready;
	long result;
	bool have_fpu;
	uint8_t fpu[4096]; /* the parent's FPU state: a new thread starts with a copy, as on Linux */
};

/* Owned by the parent until the semaphore is posted: the child never looks
 * at st afterwards, so the parent frees it. */
static void *thread_main(void *arg)
{
	struct thread_start *st = arg;
	struct sb_thread *t = st->child;
	struct sb_proc *p = t->p;
	jmp_buf ended;
	t->tid = (pid_t)host_syscall(SYS_gettid, 0, 0, 0, 0, 0, 0);
	struct dune_vcpu *v;
	int rc = vcpu_create(p->vm, &v); /* an ended thread's vCPU when there is one */
	if (rc) {
		st->result = rc;
		sem_post(&st->ready);
		return NULL;
	}
	t->vcpu = v;
	v->user = t;
	rc = vcpu_enter_user(v, st->regs.rip, st->newsp ? st->newsp : st->regs.rsp,
			     (st->flags & CLONE_SETTLS) ? st->tls : st->sregs.fs.base);
	if (!rc && st->have_fpu)
		rc = p->vm->hw->set_xsave(v->hw, st->fpu);
	if (rc) {
		vcpu_destroy(v);
		st->result = rc;
		sem_post(&st->ready);
		return NULL;
	}
	struct kvm_regs *r = vcpu_regs(v);
	*r = st->regs;
	r->rsp = st->newsp ? st->newsp : st->regs.rsp;
	r->rax = 0;
	vcpu_dirty(v, 1, 0);
	struct kvm_sregs *s = vcpu_sregs(v);
	s->gs.base = st->sregs.gs.base;
	vcpu_dirty(v, 0, 1);
	/* The parent checked these and waits: its checked span keeps them the program's. */
	if (st->flags & CLONE_PARENT_SETTID)
		*(int *)st->ptid = t->tid;
	if (st->flags & CLONE_CHILD_SETTID)
		*(int *)st->ctid = t->tid;
	if (st->flags & CLONE_CHILD_CLEARTID)
		t->clear_child_tid = st->ctid; /* acted on by sb_exit_thread, never by the host kernel */
	/* sb_exit_thread comes back here, so the thread ends by returning and
	 * glibc reclaims its stack and descriptor (a raw exit leaks both). */
	t->exit_jmp = &ended;
	if (setjmp(ended))
		return NULL;
	/* Born with every signal blocked (new_thread): a signal caught now
	 * finds this thread and its vCPU, not an unbound monitor thread. */
	sb_bind_thread(t);
	uint64_t m = t->mask;
	host_syscall(SYS_rt_sigprocmask, SIG_SETMASK, (uint64_t)&m, 0, 8, 0, 0);
	add_thread(p, t);
	st->result = t->tid;
	pt_thread_start(t);
	sem_post(&st->ready);
	sb_thread_loop(t);
}

static long new_thread(struct sb_thread *t, uint64_t flags, uint64_t newsp, uint64_t ptid, uint64_t ctid,
		       uint64_t tls)
{
	struct sb_proc *p = t->p;
	if (!(flags & CLONE_THREAD) || !(flags & CLONE_SIGHAND))
		return -EINVAL; /* shared memory without a shared thread group: not supported */
	if (p->mm != p)
		return -EINVAL; /* a vfork child runs on its parent's memory until it execs or exits */
	if ((flags & CLONE_PARENT_SETTID) && !sb_range_ok(p, ptid, 4, PROT_WRITE))
		return -EFAULT;
	if ((flags & (CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID)) && !sb_range_ok(p, ctid, 4, PROT_WRITE))
		return -EFAULT;
	struct thread_start *st = calloc(1, sizeof *st);
	struct sb_thread *c = calloc(1, sizeof *c);
	if (!st || !c) {
		free(st);
		free(c);
		return -ENOMEM;
	}
	c->p = p;
	c->mask = t->mask;
	c->alt.ss_flags = SS_DISABLE;
	st->parent = t;
	st->child = c;
	st->regs = *vcpu_regs(t->vcpu);
	st->sregs = *vcpu_sregs(t->vcpu);
	st->have_fpu = p->vm->hw->get_xsave(t->vcpu->hw, st->fpu) == 0;
	st->flags = flags, st->newsp = newsp, st->ptid = ptid, st->ctid = ctid, st->tls = tls;
	sem_init(&st->ready, 0, 0);
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 << 10);
	pthread_t th;
	sigset_t all, saved;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &saved);
	int rc = pthread_create(&th, &attr, thread_main, st);
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	pthread_attr_destroy(&attr);
	if (rc) {
		free(st);
		free(c);
		return -rc;
	}
	while (sem_wait(&st->ready) < 0 && errno == EINTR)
		;
	long res = st->result;
	sem_destroy(&st->ready);
	free(st);
	if (res < 0)
		free(c); /* the child gave up before anything could see c */
	return res;
}

/* ---- fork ---- */

/* fork() when the clone flags ask for nothing more (glibc's fork keeps malloc and stdio
 * consistent in the child even if other monitor threads were inside them), else a raw
 * clone with the flags the host applies. Returns the pid, 0 in the child, or -errno. */
static long host_fork(uint64_t flags, uint64_t ptid)
{
	int exit_sig = (int)(flags & 0xff);
	if (exit_sig == SIGCHLD && !(flags & (CLONE_PIDFD | CLONE_PARENT | CLONE_FILES | CLONE_FS |
					      CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER |
					      CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP))) {
		long pid = fork();
		return pid < 0 ? -errno : pid;
	}
	uint64_t host_flags = flags & ~(uint64_t)(CLONE_VM | CLONE_SETTLS | CLONE_VFORK | CLONE_PARENT_SETTID |
						  CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID);
	return host_syscall(SYS_clone, host_flags, 0, ptid, 0, 0, 0);
}

/* In the child of a fork: the process state of this thread alone, and a VM rebuilt over the
 * copied memory with a vCPU in the parent's register state (regs, sregs, fpu if not NULL),
 * returning 0 from the clone. */
static void child_after_fork(struct sb_thread *t, uint64_t flags, uint64_t newsp, uint64_t ctid, uint64_t tls,
			     const struct kvm_regs *regs, const struct kvm_sregs *sregs, const uint8_t *fpu)
{
	struct sb_proc *p = t->p;
	pid_t me = (pid_t)host_syscall(SYS_gettid, 0, 0, 0, 0, 0, 0);
	if (flags & CLONE_CHILD_SETTID)
		*(int *)ctid = me;
	/* Child: only this thread exists; rebuild the VM over the copied
	 * memory. The other threads' host threads do not exist here. */
	pthread_mutex_init(&p->lock, NULL);
	sb_own_mm(p); /* a vfork child's fork: the copy of its parent's memory is this child's */
	for (struct sb_thread *o = p->threads, *next; o; o = next) {
		next = o->next;
		if (o != t)
			free(o);
	}
	p->threads = NULL;
	p->nthreads = 0;
	p->is_root = false;
	t->tid = me;
	t->pending = 0;
	/* As the kernel: a new task has no robust list; CLEARTID is recorded. */
	t->robust_head = 0;
	t->clear_child_tid = (flags & CLONE_CHILD_CLEARTID) ? ctid : 0;
	t->vcpu = NULL; /* every inherited vCPU goes with the parent's VM */
	fc_after_fork(&p->fc);
	p->pt_fc_held = false; /* the child's fast calls are its own, not held */
	int rebuilt = vm_rebuild_after_fork(p->vm);
	phase_mark("fork-child-vm-rebuilt");
	if (rebuilt < 0 || vcpu_create(p->vm, &t->vcpu) < 0) {
		host_syscall(SYS_write, 2, (uint64_t)"dune-run: cannot rebuild the VM after fork\n", 43, 0, 0, 0);
		host_syscall(SYS_exit_group, 127, 0, 0, 0, 0, 0);
	}
	kc_setup(p, !p->kc_off);
	t->vcpu->user = t;
	vcpu_enter_user(t->vcpu, regs->rip, newsp ? newsp : regs->rsp,
			(flags & CLONE_SETTLS) ? tls : sregs->fs.base);
	struct kvm_regs *r = vcpu_regs(t->vcpu);
	*r = *regs;
	r->rsp = newsp ? newsp : regs->rsp;
	r->rax = 0;
	vcpu_dirty(t->vcpu, 1, 0);
	vcpu_sregs(t->vcpu)->gs.base = sregs->gs.base;
	vcpu_dirty(t->vcpu, 0, 1);
	if (fpu)
		p->vm->hw->set_xsave(t->vcpu->hw, fpu);
	add_thread(p, t);
	pt_thread_start(t);
	__atomic_fetch_add(&p->stats->processes, 1, __ATOMIC_RELAXED);
	phase_mark("fork-child-vcpu-ready");
}

static long new_process(struct sb_thread *t, uint64_t flags, uint64_t newsp, uint64_t ptid, uint64_t ctid,
			uint64_t tls, enum sb_done *done)
{
	struct sb_proc *p = t->p;
	if (flags & (CLONE_SIGHAND | CLONE_THREAD))
		return -EINVAL;
	if ((flags & (CLONE_PARENT_SETTID | CLONE_PIDFD)) && !sb_range_ok(p, ptid, 4, PROT_WRITE))
		return -EFAULT;
	if ((flags & (CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID)) && !sb_range_ok(p, ctid, 4, PROT_WRITE))
		return -EFAULT;
	/* The run page is shared with the child: snapshot the state first. */
	struct kvm_regs regs = *vcpu_regs(t->vcpu);
	struct kvm_sregs sregs = *vcpu_sregs(t->vcpu);
	/* The child cannot ask the parent's vCPU (KVM refuses another mm). */
	static __thread uint8_t fpu[4096];
	bool fpu_ok = p->vm->hw->get_xsave(t->vcpu->hw, fpu) == 0;
	/* The clone flags the program asked for are applied by hand around the
	 * host fork (host_fork). */
	int vfork_pipe[2] = { -1, -1 };
	if ((flags & CLONE_VFORK) && pipe2(vfork_pipe, O_CLOEXEC) < 0)
		return -errno;
	/* No host signal handler may run while the child swaps its vCPU. */
	sigset_t all, saved;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &saved);
	/* The process's state, its address space's (a vfork child's is its parent's), the VM's. */
	pthread_mutex_lock(&p->lock);
	if (p->mm != p)
		pthread_mutex_lock(&p->mm->lock);
	pthread_mutex_lock(&p->vm->lock);
	phase_mark("fork-start");
	long pid = host_fork(flags, ptid);
	if (pid != 0) {
		phase_mark("fork-parent-back");
		pthread_mutex_unlock(&p->vm->lock);
		if (p->mm != p)
			pthread_mutex_unlock(&p->mm->lock);
		pthread_mutex_unlock(&p->lock);
		pthread_sigmask(SIG_SETMASK, &saved, NULL);
		if (pid > 0 && (flags & CLONE_PARENT_SETTID))
			*(int *)ptid = (int)pid;
		if (vfork_pipe[0] >= 0) {
			/* vfork: wait until the child execs (close-on-exec) or exits. */
			close(vfork_pipe[1]);
			char c;
			if (pid > 0)
				while (read(vfork_pipe[0], &c, 1) < 0 && errno == EINTR)
					;
			close(vfork_pipe[0]);
		}
		return pid;
	}
	phase_mark("fork-child-start");
	if (vfork_pipe[0] >= 0)
		close(vfork_pipe[0]);
	child_after_fork(t, flags, newsp, ctid, tls, &regs, &sregs, fpu_ok ? fpu : NULL);
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	*done = SB_NORET;
	return 0;
}

static long sb_clone(struct sb_thread *t, uint64_t flags, uint64_t newsp, uint64_t ptid, uint64_t ctid, uint64_t tls,
	      enum sb_done *done)
{
	if ((flags & CLONE_VM) && !(flags & CLONE_VFORK))
		return new_thread(t, flags, newsp, ptid, ctid, tls);
	/* vfork: the child shares this memory and VM until it execs or exits (vfork.c). */
	if (flags & CLONE_VM)
		return sb_vfork(t, flags, newsp, ptid, ctid, tls);
	/* CLONE_VFORK alone: a copy, and the parent waits until the child execs or exits. */
	return new_process(t, flags, newsp, ptid, ctid, tls, done);
}

/* ---- exec ---- */

static void free_strings(char **v)
{
	for (char **s = v; s && *s; s++)
		free(*s);
	free(v);
}

/* A program string, copied page by page as it is checked: the kernel (and
 * the new image) read the monitor's copy, never program memory that
 * another thread may rewrite or release meanwhile. */
static char *copy_program_string(struct sb_proc *p, uint64_t s)
{
	size_t len = 0, cap = 256;
	char *buf = malloc(cap);
	uint64_t at = s;
	while (buf) {
		if (!sb_range_ok(p, at, 1, PROT_READ) || len > 131072)
			break;
		uint64_t end = PAGE_DOWN(at) + PAGE_SIZE;
		const char *z = memchr((const void *)at, 0, end - at);
		size_t n = z ? (size_t)(z - (const char *)at) : (size_t)(end - at);
		if (len + n + 1 > cap) {
			while (len + n + 1 > cap)
				cap *= 2;
			char *nb = realloc(buf, cap);
			if (!nb)
				break;
			buf = nb;
		}
		memcpy(buf + len, (const void *)at, n);
		len += n;
		if (z) {
			buf[len] = '\0';
			return buf;
		}
		at = end;
	}
	free(buf);
	return NULL;
}

static long copy_string_array(struct sb_proc *p, uint64_t guest, char ***out, int *count)
{
	size_t cap = 16, n = 0;
	char **v = calloc(cap, sizeof *v);
	if (!v)
		return -ENOMEM;
	for (;;) {
		if (guest && !sb_range_ok(p, guest + n * 8, 8, PROT_READ))
			goto fault;
		uint64_t s = guest ? ((uint64_t *)guest)[n] : 0;
		if (n + 2 > cap) {
			cap *= 2;
			char **nv = realloc(v, cap * sizeof *v);
			if (!nv)
				goto fault;
			v = nv;
		}
		v[n] = NULL;
		if (!s)
			break;
		if (n >= 65536 || !(v[n] = copy_program_string(p, s)))
			goto fault;
		n++;
	}
	*out = v;
	*count = (int)n;
	return 0;
fault:
	free_strings(v);
	return -EFAULT;
}

static int pass_fd(int fd)
{
	/* Keep across exec. */
	int fl = fcntl(fd, F_GETFD);
	if (fl >= 0)
		fcntl(fd, F_SETFD, fl & ~FD_CLOEXEC);
	return fd;
}

/* Copies the NUL-terminated path at gpath (checked against the program's memory). */
static long copy_exec_path(struct sb_proc *p, uint64_t gpath, char path[PATH_MAX])
{
	for (size_t n = 0;; n++) {
		if (n >= PATH_MAX)
			return -ENAMETOOLONG;
		if (!sb_range_ok(p, gpath + n, 1, PROT_READ))
			return -EFAULT;
		path[n] = *(const char *)(gpath + n);
		if (!path[n])
			return 0;
	}
}

/* The kernel names a process after the file it execs (busybox sh re-executes
 * /proc/self/exe and looks for the name "exe"): that name for the new image. */
static void exec_comm(const char *path, char comm[16])
{
	const char *slash = strrchr(path, '/');
	const char *name = slash ? slash + 1 : path;
	size_t len = strnlen(name, 15); /* the kernel keeps 15 bytes too */
	memcpy(comm, name, len);
	comm[len] = 0;
}

/* The kernel's checks of an execve target, so the program sees EACCES, ENOEXEC... from
 * this call and not from the new image. Returns 0 or -errno. */
static int check_exec_target(struct sb_proc *p, int dirfd, const char *path, int fd)
{
	/* Whatever name reached it, the monitor's image (or any monitor
	 * object) is not a program to run. */
	if (mobj_classify(&p->objs, fd) != OBJ_PROGRAM)
		return -EACCES;
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (path[0] ? faccessat(dirfd, path, X_OK, 0) : faccessat(fd, "", X_OK, AT_EMPTY_PATH)) < 0)
		return -EACCES;
	char why[160];
	enum elf_check kind = elf_classify(fd, why, sizeof why);
	if (kind != ELF_OK && kind != ELF_SCRIPT)
		return -ENOEXEC;
	/* A missing interpreter fails the call, as in the kernel. */
	char interp[PATH_MAX];
	if (elf_interpreter(fd, interp, sizeof interp) == 0 && access(interp, X_OK) < 0)
		return errno == ENOENT ? -ENOENT : -EACCES;
	return 0;
}

/* Opens what execveat(dirfd, path, flags) runs and checks it (check_exec_target).
 * Returns the descriptor or -errno. */
static int open_exec_target(struct sb_proc *p, int dirfd, const char *path, int flags)
{
	int fd;
	if (!path[0]) {
		/* execveat(fd, "", ..., AT_EMPTY_PATH): fexecve. */
		char self[40];
		snprintf(self, sizeof self, "/proc/self/fd/%d", dirfd);
		fd = open(self, O_RDONLY | O_CLOEXEC);
	} else {
		fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | ((flags & AT_SYMLINK_NOFOLLOW) ? O_NOFOLLOW : 0));
	}
	if (fd < 0)
		return -errno;
	int rc = check_exec_target(p, dirfd, path, fd);
	if (rc) {
		close(fd);
		return rc;
	}
	return fd;
}

/* The policy's text in a memfd, for the new image's --policy-fd. Returns it or -errno. */
static int policy_memfd(const struct policy *pol)
{
	int fd = memfd_create("dune-policy", 0);
	if (fd < 0)
		return -errno;
	size_t len = strlen(pol->text);
	if (write(fd, pol->text, len) != (ssize_t)len) {
		close(fd);
		return -EIO;
	}
	lseek(fd, 0, SEEK_SET);
	return fd;
}

/* The new image's command line: dune-run again, told everything through inherited fds
 * (bufs holds their numbers). NULL without memory. */
static char **reexec_argv(struct sb_thread *t, int polfd, char *comm, int argc, char **argv, char *full,
			  char bufs[5][32])
{
	struct sb_proc *p = t->p;
	char **nargv = calloc((size_t)argc + 32, sizeof *nargv);
	if (!nargv)
		return NULL;
	int k = 0;
	nargv[k++] = (char *)"dune-run";
	nargv[k++] = (char *)"--policy-fd";
	snprintf(bufs[0], 32, "%d", polfd);
	nargv[k++] = bufs[0];
	if (p->trace) {
		nargv[k++] = (char *)"--trace-fd";
		snprintf(bufs[1], 32, "%d", pass_fd(p->trace_fd));
		nargv[k++] = bufs[1];
	}
	nargv[k++] = (char *)"--backend"; /* the new image keeps this one */
	nargv[k++] = (char *)p->vm->hw->name;
	int devfd[1];
	if (p->vm->hw->fds(p->vm->hw_vm, devfd, 1) == 1) {
		nargv[k++] = (char *)"--kvm-fd";
		snprintf(bufs[3], 32, "%d", pass_fd(devfd[0]));
		nargv[k++] = bufs[3];
	}
	nargv[k++] = (char *)"--stats-fd";
	snprintf(bufs[2], 32, "%d", pass_fd(p->stats_fd));
	nargv[k++] = bufs[2];
	if (p->is_root && p->stats_path) {
		nargv[k++] = (char *)"--stats";
		nargv[k++] = (char *)p->stats_path;
	}
	if (!p->mm->fa.enabled)
		nargv[k++] = (char *)"--no-fault-around";
	if (p->fc_off)
		nargv[k++] = (char *)"--no-fastcall";
	if (p->kc_off)
		nargv[k++] = (char *)"--no-kernel-syscalls";
	if (p->tsc_same)
		nargv[k++] = (char *)"--tsc-same";
	int ptraced = pt_exec_arg(t);
	if (ptraced >= 0) {
		nargv[k++] = (char *)"--ptraced";
		snprintf(bufs[4], 32, "%d", ptraced);
		nargv[k++] = bufs[4];
	}
	nargv[k++] = (char *)"--comm";
	nargv[k++] = comm;
	nargv[k++] = (char *)"--argv0";
	nargv[k++] = argc ? argv[0] : (char *)"";
	nargv[k++] = (char *)"--";
	nargv[k++] = full;
	for (int i = 1; i < argc; i++)
		nargv[k++] = argv[i];
	nargv[k] = NULL;
	return nargv;
}

/* The exec failed: the descriptors passed on are close-on-exec again. */
static void reclaim_passed_fds(struct sb_proc *p)
{
	fcntl(p->stats_fd, F_SETFD, FD_CLOEXEC);
	if (p->trace)
		fcntl(p->trace_fd, F_SETFD, FD_CLOEXEC);
	int devfd[1];
	if (p->vm->hw->fds(p->vm->hw_vm, devfd, 1) == 1)
		fcntl(devfd[0], F_SETFD, FD_CLOEXEC);
}

/* Runs the checked program as a new image of dune-run (see reexec_argv); returns only on failure.
 * A vfork child's successful exec leaves the vectors in its parent's memory: recorded in t for
 * the parent to free (sb_vfork), and forgotten again when the exec fails. */
static long reexec(struct sb_thread *t, char *full, char *comm, int argc, char **argv, char **envp)
{
	struct sb_proc *p = t->p;
	int polfd = policy_memfd(p->policy);
	if (polfd < 0)
		return polfd;
	char bufs[5][32];
	char **nargv = reexec_argv(t, polfd, comm, argc, argv, full, bufs);
	if (!nargv) {
		close(polfd);
		return -ENOMEM;
	}
	/* The process's own signal mask survives exec, as with the kernel. */
	uint64_t m = t->mask;
	host_syscall(SYS_rt_sigprocmask, SIG_SETMASK, (uint64_t)&m, 0, 8, 0, 0);
	phase_mark("execve-checked");
	if (p->mm != p) {
		t->exec_argv = argv, t->exec_envp = envp;
		__atomic_store_n(&t->exec_nargv, nargv, __ATOMIC_SEQ_CST);
	}
	long rc = host_syscall(SYS_execveat, (uint64_t)p->self_fd, (uint64_t)"", (uint64_t)nargv, (uint64_t)envp,
			       AT_EMPTY_PATH, 0);
	/* Still here: the exec failed. */
	__atomic_store_n(&t->exec_nargv, NULL, __ATOMIC_SEQ_CST);
	close(polfd);
	reclaim_passed_fds(p);
	free(nargv);
	return rc;
}

static long sb_execve(struct sb_thread *t, int dirfd, uint64_t gpath, uint64_t gargv, uint64_t genvp, int flags)
{
	struct sb_proc *p = t->p;
	phase_mark("execve-start");
	char path[PATH_MAX];
	long rc = copy_exec_path(p, gpath, path);
	if (rc)
		return rc;
	if (dirfd != AT_FDCWD && sb_is_monitor_fd(p, dirfd))
		return -EBADF;
	if (!path[0] && !(flags & AT_EMPTY_PATH))
		return -ENOENT;
	char comm[16];
	exec_comm(path, comm);
	if (sb_names_self_exe(dirfd, path))
		snprintf(path, sizeof path, "%s", p->exe);
	char **argv, **envp;
	int argc, envc;
	rc = copy_string_array(p, gargv, &argv, &argc);
	if (rc)
		return rc;
	rc = copy_string_array(p, genvp, &envp, &envc);
	if (rc) {
		free_strings(argv);
		return rc;
	}
	int fd = open_exec_target(p, dirfd, path, flags);
	if (fd < 0) {
		rc = fd;
		goto out;
	}
	char full[PATH_MAX + 8];
	snprintf(full, sizeof full, "/proc/self/fd/%d", fd);
	if (path[0] == '/' || (dirfd == AT_FDCWD && path[0])) {
		/* The kernel never searches PATH for execve: keep it a path. */
		snprintf(full, sizeof full, "%s%s", strchr(path, '/') ? "" : "./", path);
		close(fd);
		fd = -1;
	} else {
		pass_fd(fd);
	}
	rc = reexec(t, full, comm, argc, argv, envp);
	if (fd >= 0)
		close(fd);
out:
	free_strings(argv);
	free_strings(envp);
	return rc;
}

static _Noreturn void sb_exit_thread(struct sb_thread *t, int status)
{
	struct sb_proc *p = t->p;
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, NULL); /* the handler must not see the vCPU go */
	pthread_mutex_lock(&p->lock);
	bool last = p->nthreads == 1;
	struct dune_vcpu *v = t->vcpu;
	t->vcpu = NULL;
	pthread_mutex_unlock(&p->lock);
	/* Idle before clear_child_tid wakes a joiner: the thread it starts
	 * next takes this vCPU instead of making one. */
	if (!last)
		vcpu_destroy(v);
	/* Still listed: this thread's checked span keeps the words it writes
	 * the program's until it is done (sb_release_range). */
	sb_futex_thread_exit(t, !last);
	sb_hull_reset(t);
	pthread_mutex_lock(&p->lock);
	int left = --p->nthreads;
	struct sb_thread **pp = &p->threads;
	while (*pp && *pp != t)
		pp = &(*pp)->next;
	if (*pp)
		*pp = t->next;
	pthread_mutex_unlock(&p->lock);
	if (left == 0)
		sb_exit_group(p, status);
	if (last)
		vcpu_destroy(v); /* a thread started meanwhile after all */
	jmp_buf *back = t->exit_jmp;
	free(t);
	if (back)
		longjmp(*back, 1);
	/* The initial thread has no glibc start routine to return to. */
	for (;;)
		host_syscall(SYS_exit, (uint64_t)status, 0, 0, 0, 0, 0);
}

/* ---- start-up ---- */

static uint64_t host_rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

/* The host vDSO computes time from the TSC: only valid in the guest if the
 * guest reads the same TSC (no offset). One rdtsc in the guest, bracketed
 * by two on the host. */
static bool guest_tsc_is_host_tsc(struct dune_vcpu *v)
{
	static const uint8_t code[] = {
		0x0f, 0x31,             /* rdtsc */
		0x48, 0xc1, 0xe2, 0x20, /* shl $32, %rdx */
		0x48, 0x09, 0xd0,       /* or %rdx, %rax */
		0x0f, 0x05,             /* syscall */
	};
	struct dune_vm *vm = v->vm;
	uint8_t *page = mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED)
		return false;
	memcpy(page, code, sizeof code);
	bool same = false;
	if (vm_mirror_map(vm, (uint64_t)page, PAGE_SIZE, PROT_READ | PROT_EXEC) == 0 &&
	    vcpu_enter_user(v, (uint64_t)page, 0, 0) == 0) {
		uint64_t before = host_rdtsc();
		enum dune_event ev = vcpu_run(v);
		uint64_t after = host_rdtsc();
		uint64_t g = vcpu_regs(v)->rax;
		same = ev == EV_SYSCALL && g >= before && g <= after;
	}
	vm_mirror_unmap(vm, (uint64_t)page, PAGE_SIZE);
	munmap(page, PAGE_SIZE);
	return same;
}

/* What the program must never open or change, whatever the name. The trace
 * goes to the program's own stderr when dune-run was started with --trace:
 * that file stays the program's. */
static void register_monitor_objects(struct sb_proc *p)
{
	mobj_add_image(&p->objs, p->self_fd);
	mobj_add_file(&p->objs, p->stats_fd);
	struct stat tr, err;
	if (p->trace && fstat(p->trace_fd, &tr) == 0 &&
	    !(fstat(2, &err) == 0 && tr.st_dev == err.st_dev && tr.st_ino == err.st_ino))
		mobj_add_file(&p->objs, p->trace_fd);
}

/* The counters area: a fresh memfd, or the container's counters file (opt->stats_fd), mapped
 * shared. Returns 0 or the status to fail with. */
static int open_stats(struct sb_proc *p, const struct sb_options *opt)
{
	p->stats_fd = opt->stats_fd;
	if (p->stats_fd < 0) {
		p->stats_fd = memfd_create("dune-stats", MFD_CLOEXEC);
		if (p->stats_fd < 0 || ftruncate(p->stats_fd, sizeof(struct sb_stats)) < 0) {
			fprintf(stderr, "dune-run: cannot create the statistics area: %s\n", strerror(errno));
			return 126;
		}
		/* Out of the way of the descriptors the program uses (3, 4...). */
		int hi = fcntl(p->stats_fd, F_DUPFD_CLOEXEC, 930);
		if (hi >= 0) {
			close(p->stats_fd);
			p->stats_fd = hi;
		}
	}
	if (opt->count_process) {
		/* A container's counters file starts empty: size it once (idempotent). */
		struct stat st;
		if (fstat(p->stats_fd, &st) < 0 ||
		    (st.st_size < (off_t)sizeof(struct sb_stats) && ftruncate(p->stats_fd, sizeof(struct sb_stats)) < 0)) {
			fprintf(stderr, "dune-run: cannot size the statistics file: %s\n", strerror(errno));
			return 126;
		}
	}
	p->stats = mmap(NULL, sizeof(struct sb_stats), PROT_READ | PROT_WRITE, MAP_SHARED, p->stats_fd, 0);
	if (p->stats == MAP_FAILED) {
		fprintf(stderr, "dune-run: cannot map the statistics area: %s\n", strerror(errno));
		return 126;
	}
	if (opt->stats_fd < 0)
		p->stats->processes = 1;
	else if (opt->count_process)
		__atomic_fetch_add(&p->stats->processes, 1, __ATOMIC_RELAXED);
	return 0;
}

/* The sealed memfd this process runs from (self_image.h), for execve. */
static void open_self_image(struct sb_proc *p, const struct sb_options *opt)
{
	p->self_fd = opt->self_fd >= 0 ? opt->self_fd : open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (p->self_fd >= 0) {
		int hi = fcntl(p->self_fd, F_DUPFD_CLOEXEC, 950);
		if (hi >= 0) {
			close(p->self_fd);
			p->self_fd = hi;
		}
	}
}

/* What sandbox_run loads: the program itself, or for a script its interpreter. */
struct program {
	int fd;
	const char *load_path;
	char *const *argv;  /* the argv the loaded image gets */
	char **script_argv; /* for a script: "interpreter [arg] path args..." (argv points here) */
};

/* A "#!interpreter [arg]" script: the interpreter's argv, "interpreter [arg] path argv[1..]". */
static char **script_argv(int fd, const char *path, char *const argv[])
{
	char line[256];
	ssize_t n = pread(fd, line, sizeof line - 1, 0);
	line[n > 0 ? n : 0] = '\0';
	char *nl = strchr(line, '\n');
	if (nl)
		*nl = '\0';
	char *interp = line + 2;
	while (*interp == ' ' || *interp == '\t')
		interp++;
	char *arg = interp + strcspn(interp, " \t");
	if (*arg) {
		*arg++ = '\0';
		while (*arg == ' ' || *arg == '\t')
			arg++;
	}
	int argc = 0;
	while (argv[argc])
		argc++;
	char **out = calloc((size_t)argc + 4, sizeof *out);
	int k = 0;
	out[k++] = strdup(interp);
	if (*arg)
		out[k++] = strdup(arg);
	out[k++] = (char *)path;
	for (int i = 1; i < argc; i++)
		out[k++] = argv[i];
	return out;
}

/* Opens the program at path (a script's interpreter in its place) and checks it is an ELF
 * image this loader runs. Returns 0 or the status to fail with (127: not found). */
static int open_program(struct program *prog, const char *path, char *const argv[])
{
	*prog = (struct program){ .fd = open(path, O_RDONLY | O_CLOEXEC), .load_path = path, .argv = argv };
	if (prog->fd < 0) {
		fprintf(stderr, "dune-run: %s: %s\n", path, strerror(errno));
		return errno == ENOENT ? 127 : 126;
	}
	char why[200];
	enum elf_check kind = elf_classify(prog->fd, why, sizeof why);
	if (kind == ELF_SCRIPT) {
		/* #!interpreter [arg]: run the interpreter with the script's path. */
		prog->script_argv = script_argv(prog->fd, path, argv);
		prog->argv = prog->script_argv;
		prog->load_path = prog->script_argv[0];
		close(prog->fd);
		prog->fd = open(prog->load_path, O_RDONLY | O_CLOEXEC);
		if (prog->fd < 0) {
			fprintf(stderr, "dune-run: %s: bad interpreter %s: %s\n", path, prog->load_path, strerror(errno));
			return errno == ENOENT ? 127 : 126;
		}
		kind = elf_classify(prog->fd, why, sizeof why);
	}
	if (kind != ELF_OK) {
		fprintf(stderr, "dune-run: %s: cannot run: %s\n", prog->load_path, why);
		return 126;
	}
	return 0;
}

/* The VM with the program's image, its vDSO and initial stack, and the first vCPU (t->vcpu).
 * Returns 0 with the entry point and stack pointer, or the status to fail with. */
static int load_program(struct sb_proc *p, struct sb_thread *t, const struct sb_options *opt,
			const struct program *prog, const char *path, char *const envp[], uint64_t *entry,
			struct elf_stack *stack)
{
	phase_mark("start-before-vm");
	int rc = vm_create(&p->vm, opt->hw ? opt->hw : &hw_kvm_ops, opt->kvm_fd);
	phase_mark("start-vm-created");
	if (opt->kvm_fd >= 0)
		close(opt->kvm_fd);
	if (rc) {
		fprintf(stderr, "dune-run: cannot create a virtual machine (%s backend): %s\n",
			opt->hw ? opt->hw->name : hw_kvm_ops.name, strerror(-rc));
		return 126;
	}
	p->vm->user = p;
	fa_attach(&p->fa, p->vm, !opt->no_fault_around);
	p->fc_off = opt->no_fastcall;
	fc_init(&p->fc, !opt->no_fastcall && !p->trace, policy_always_allows(p->policy, SYS_getpid));
	p->kc_off = opt->no_kernel_syscalls;
	struct elf_image img;
	char err[256] = "";
	rc = elf_load(p->vm, prog->fd, &img, err, sizeof err);
	close(prog->fd);
	if (rc) {
		fprintf(stderr, "dune-run: %s: cannot load: %s\n", prog->load_path, err[0] ? err : strerror(-rc));
		return 126;
	}
	phase_mark("start-elf-loaded");
	p->brk_start = p->brk_cur = PAGE_UP(img.brk_start);
	/* Time calls without exits: the host's vDSO reads the kernel's clock
	 * data and the TSC, both valid in the guest (DUNE_NO_VDSO=1 turns it off). */
	const char *novdso = getenv("DUNE_NO_VDSO");
	img.vdso = novdso && !strcmp(novdso, "1") ? 0 : elf_map_vdso(p->vm);
	rc = vcpu_create(p->vm, &t->vcpu);
	if (rc) {
		fprintf(stderr, "dune-run: cannot create a vCPU: %s\n", strerror(-rc));
		return 126;
	}
	phase_mark("start-vcpu-created");
	kc_setup(p, !p->kc_off);
	snprintf(p->stats->backend, sizeof p->stats->backend, "%s", p->vm->hw->name);
	/* An exec'd image runs on the same device as the one that probed
	 * (as a forked child does, which keeps its parent's vDSO): no new probe. */
	if (img.vdso && !opt->tsc_same && !guest_tsc_is_host_tsc(t->vcpu))
		img.vdso = 0; /* AT_SYSINFO_EHDR left out: libc uses the system calls */
	p->tsc_same = img.vdso != 0;
	phase_mark("start-tsc-probed");
	rc = elf_build_stack(p->vm, &img, prog->argv, envp, prog->script_argv ? path : prog->load_path, stack);
	if (rc) {
		fprintf(stderr, "dune-run: cannot build the initial stack: %s\n", strerror(-rc));
		return 126;
	}
	*entry = img.entry;
	return 0;
}

int sandbox_run(struct policy *pol, const struct sb_options *opt, const char *path, char *const argv[],
		char *const envp[])
{
	phase_mark("start-sandbox");
	/* One malloc arena for the monitor: its threads allocate rarely (not
	 * on the syscall path), and every extra arena reserves 64 MiB, which a
	 * short-lived thread's first free() (its tcache) could otherwise add
	 * while the arena of the thread before it is not yet given back. */
	mallopt(M_ARENA_MAX, 1);
	struct sb_proc *p = calloc(1, sizeof *p);
	struct sb_thread *t = calloc(1, sizeof *t);
	if (!p || !t)
		return 127;
	pthread_mutex_init(&p->lock, NULL);
	p->mm = p;
	p->ops = &process_ops;
	p->policy = pol;
	p->trace = opt->trace;
	p->trace_fd = opt->trace_fd;
	p->stats_path = opt->stats_path;
	p->is_root = opt->is_root;
	int rc = open_stats(p, opt);
	if (rc)
		return rc;
	open_self_image(p, opt);
	register_monitor_objects(p);

	struct program prog;
	rc = open_program(&prog, path, argv);
	if (rc)
		return rc;
	if (!realpath(prog.load_path, p->exe))
		snprintf(p->exe, sizeof p->exe, "%s", prog.load_path);
	/* ps and /proc/self/comm show the program, not dune-run. */
	identity_set_comm(path, opt->comm);

	uint64_t entry;
	struct elf_stack stack;
	rc = load_program(p, t, opt, &prog, path, envp, &entry, &stack);
	if (rc)
		return rc;
	/* Without PR_SET_MM_MAP (a kernel without checkpoint/restore) dune-run's own argument
	 * area, rewritten at its start, still shows the program's arguments. */
	rc = identity_show_program(&stack);
	if (rc && p->trace)
		dprintf(p->trace_fd, "[dune] identity: PR_SET_MM_MAP: %s\n", strerror(-rc));
	pt_area_init(p, stack.rsp);
	phase_mark("start-stack-built");
	sb_signals_init(p);
	phase_mark("start-signals-reset");
	sigset_t cur;
	sigprocmask(SIG_SETMASK, NULL, &cur);
	memcpy(&t->mask, &cur, 8);
	t->p = p;
	t->alt.ss_flags = SS_DISABLE;
	t->tid = (pid_t)host_syscall(SYS_gettid, 0, 0, 0, 0, 0, 0);
	rc = vcpu_enter_user(t->vcpu, entry, stack.rsp, 0);
	if (rc) {
		fprintf(stderr, "dune-run: cannot create a vCPU: %s\n", strerror(-rc));
		return 126;
	}
	t->vcpu->user = t;
	add_thread(p, t);
	pt_thread_start(t);
	pt_after_exec(t, opt->ptraced - 1);
	phase_mark("start-first-run");
	sb_thread_loop(t);
}
