/* vfork: a child process that shares its parent's memory until it execs or exits, as on
 * Linux (glibc's posix_spawn relies on it: the child writes an exec error into the parent's
 * memory). The monitor clones with CLONE_VM|CLONE_VFORK onto a monitor stack of its own;
 * the child runs the program on a vCPU of the parent's VM (KVM binds a VM to its mm, and the
 * child has the same mm), taken from the VM's idle vCPUs and set up by the parent before the
 * clone. The kernel keeps the calling thread waiting until the child execs or exits; the
 * parent's other threads run on. Then the parent takes everything back: the vCPU goes idle,
 * the child's monitor structures, stack and exec leftovers are freed.
 *
 * What the kernel keeps per process is the child's own copy (struct sb_proc: signal
 * dispositions, threads with their masks, robust list and clear_child_tid, exit); what it
 * keeps per address space is the parent's (sb_proc.mm: VM, page tables, the program's memory
 * map, fault-around, brk, SysV attachments, ranges kept reserved), so the parent sees the
 * child's mmap and munmap as natively. */
#define _GNU_SOURCE
#include "sandbox.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#define VFORK_STACK (256u << 10)

struct vfork_start {
	struct sb_thread *child;
	uint64_t flags, ptid, ctid;
};

/* The child's first monitor code, on its own stack, with every host signal blocked. */
static int vfork_child(void *arg)
{
	struct vfork_start *vs = arg;
	struct sb_thread *c = vs->child;
	c->tid = (pid_t)host_syscall(SYS_gettid, 0, 0, 0, 0, 0, 0);
	/* The parent checked these; its span keeps them the program's while it waits. */
	if (vs->flags & CLONE_PARENT_SETTID)
		*(int *)vs->ptid = c->tid;
	if (vs->flags & CLONE_CHILD_SETTID)
		*(int *)vs->ctid = c->tid;
	/* The monitor's thread-local state is the waiting parent thread's: the child's binding
	 * replaces it until the parent takes it back. */
	sb_bind_thread(c);
	pt_thread_start(c); /* its slot in the stop area (shared with the parent, ptrace.h) */
	uint64_t m = c->mask;
	host_syscall(SYS_rt_sigprocmask, SIG_SETMASK, (uint64_t)&m, 0, 8, 0, 0);
	sb_thread_loop(c);
}

/* The child's vCPU: an idle one of the VM (or a new one), in t's state returning 0 from the
 * clone, on newsp if given, with tls if CLONE_SETTLS. */
static int child_vcpu(struct sb_thread *t, uint64_t flags, uint64_t newsp, uint64_t tls, struct dune_vcpu **out)
{
	struct dune_vm *vm = t->p->vm;
	static __thread uint8_t fpu[4096] __attribute__((aligned(64)));
	struct kvm_regs regs = *vcpu_regs(t->vcpu);
	struct kvm_sregs sregs = *vcpu_sregs(t->vcpu);
	bool fpu_ok = vm->hw->get_xsave(t->vcpu->hw, fpu) == 0;
	struct dune_vcpu *v;
	int rc = vcpu_create(vm, &v);
	if (rc)
		return rc;
	uint64_t sp = newsp ? newsp : regs.rsp;
	rc = vcpu_enter_user(v, regs.rip, sp, (flags & CLONE_SETTLS) ? tls : sregs.fs.base);
	if (!rc && fpu_ok)
		rc = vm->hw->set_xsave(v->hw, fpu);
	if (rc) {
		vcpu_destroy(v);
		return rc;
	}
	struct kvm_regs *r = vcpu_regs(v);
	*r = regs;
	r->rsp = sp;
	r->rax = 0;
	vcpu_dirty(v, 1, 0);
	vcpu_sregs(v)->gs.base = sregs.gs.base;
	vcpu_dirty(v, 0, 1);
	*out = v;
	return 0;
}

/* The child's process: a copy of p's per-process state (taken under p->lock, as a fork
 * would) on p's address space, with c as its only thread. */
static struct sb_proc *child_proc(struct sb_proc *p, struct sb_thread *c)
{
	struct sb_proc *cp = malloc(sizeof *cp);
	if (!cp)
		return NULL;
	pthread_mutex_lock(&p->lock);
	memcpy(cp, p, sizeof *cp);
	pthread_mutex_unlock(&p->lock);
	pthread_mutex_init(&cp->lock, NULL);
	cp->threads = c;
	cp->nthreads = 1;
	cp->is_root = false;
	cp->guests = NULL;
	cp->nguests = 0;
	cp->tombs = NULL; /* the address space's are mm's */
	cp->tracer = NULL; /* what the parent traces is the parent's */
	cp->ntombs = cp->captombs = 0;
	c->p = cp;
	return cp;
}

static void guest_add(struct sb_proc *mm, struct sb_thread *c)
{
	pthread_mutex_lock(&mm->lock);
	c->guest_next = mm->guests;
	mm->guests = c;
	mm->nguests++;
	pthread_mutex_unlock(&mm->lock);
}

static void guest_remove(struct sb_proc *mm, struct sb_thread *c)
{
	pthread_mutex_lock(&mm->lock);
	struct sb_thread **pp = &mm->guests;
	while (*pp && *pp != c)
		pp = &(*pp)->guest_next;
	if (*pp) {
		*pp = c->guest_next;
		mm->nguests--;
	}
	pthread_mutex_unlock(&mm->lock);
}

static void free_vector(char **v)
{
	for (char **s = v; s && *s; s++)
		free(*s);
	free(v);
}

/* After the child exec'd or exited (or never started): give everything back. */
static void reclaim_child(struct sb_proc *mm, struct sb_thread *c, struct dune_vcpu *v, void *stack)
{
	/* What the kernel does when the child's exec or exit releases the memory it shares with
	 * this process: its robust list (unless the child walked it itself) and clear_child_tid. */
	sb_futex_thread_exit(c, true);
	guest_remove(mm, c);
	vcpu_destroy(v); /* idle: the next thread or vfork child of this VM takes it */
	char **nargv = __atomic_load_n(&c->exec_nargv, __ATOMIC_SEQ_CST);
	if (nargv) {
		/* A successful exec: the child's copies stayed in this memory. */
		free(nargv);
		free_vector(c->exec_argv);
		free_vector(c->exec_envp);
	}
	free(c->p);
	free(c);
	munmap(stack, VFORK_STACK);
}

long sb_vfork(struct sb_thread *t, uint64_t flags, uint64_t newsp, uint64_t ptid, uint64_t ctid, uint64_t tls)
{
	struct sb_proc *p = t->p, *mm = p->mm;
	if (flags & (CLONE_SIGHAND | CLONE_THREAD))
		return -EINVAL;
	/* clone's one parent_tid word cannot take both (the kernel's EINVAL). */
	if ((flags & CLONE_PIDFD) && (flags & CLONE_PARENT_SETTID))
		return -EINVAL;
	if ((flags & (CLONE_PARENT_SETTID | CLONE_PIDFD)) && !sb_range_ok(p, ptid, 4, PROT_WRITE))
		return -EFAULT;
	if ((flags & (CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID)) && !sb_range_ok(p, ctid, 4, PROT_WRITE))
		return -EFAULT;
	struct sb_thread *c = calloc(1, sizeof *c);
	void *stack = mmap(NULL, VFORK_STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	struct dune_vcpu *v = NULL;
	long rc = !c || stack == MAP_FAILED ? -ENOMEM : child_vcpu(t, flags, newsp, tls, &v);
	if (!rc && !child_proc(p, c))
		rc = -ENOMEM;
	if (rc) {
		if (v)
			vcpu_destroy(v);
		if (stack != MAP_FAILED)
			munmap(stack, VFORK_STACK);
		free(c);
		return rc;
	}
	c->vcpu = v;
	v->user = c;
	c->mask = t->mask;
	c->alt = t->alt; /* kept by a vfork child, as by the kernel */
	c->clear_child_tid = (flags & CLONE_CHILD_CLEARTID) ? ctid : 0;
	guest_add(mm, c);
	fc_hold(&mm->fc); /* the stubs answer mm's pid: the child takes the exit path */
	__atomic_fetch_add(&p->stats->processes, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&p->stats->vcpus, 1, __ATOMIC_RELAXED);
	struct vfork_start vs = { .child = c, .flags = flags, .ptid = ptid, .ctid = ctid };
	/* What the monitor does for the program by hand stays out of the host's clone. */
	int host_flags = (int)(flags & ~(uint64_t)(CLONE_SETTLS | CLONE_PARENT_SETTID | CLONE_CHILD_SETTID |
						   CLONE_CHILD_CLEARTID));
	/* The child starts with every host signal blocked and unblocks its own mask once bound. */
	sigset_t all, saved;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &saved);
	int err = errno;
	rc = clone(vfork_child, (char *)stack + VFORK_STACK, host_flags, &vs, (pid_t *)ptid, NULL, NULL);
	if (rc < 0)
		rc = -errno;
	errno = err;
	/* Back: the child exec'd or exited. This thread's monitor state is its own again. */
	sb_bind_thread(t);
	sb_hull_reset(t);
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	reclaim_child(mm, c, v, stack);
	fc_release(&mm->fc);
	return rc;
}

void sb_own_mm(struct sb_proc *p)
{
	struct sb_proc *o = p->mm;
	if (o != p) {
		p->fa = o->fa;
		p->vm->pager.ctx = &p->fa;
		p->fc = o->fc;
		p->brk_start = o->brk_start;
		p->brk_cur = o->brk_cur;
		memcpy(p->shm, o->shm, sizeof p->shm);
		p->tombs = o->tombs;
		p->ntombs = o->ntombs;
		p->captombs = o->captombs;
		p->mm = p;
	}
	p->guests = NULL;
	p->nguests = 0;
}
