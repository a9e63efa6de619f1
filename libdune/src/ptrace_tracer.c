/* ptrace for Dune processes, the tracer's side: the program's ptrace requests and the wait4
 * of a process that traces. The tracer's monitor host-traces the tracee and never passes a
 * request through as made: registers come from the stop area the tracee's monitor publishes
 * (ptrace.h), memory only where the tracee's guest page tables give ring 3 access (program
 * memory, never monitor memory), and its own stops are translated or hidden. */
#define _GNU_SOURCE
#include "sandbox.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/auxv.h>
#include <sys/ptrace.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#define PT_TRACEES 256
#define SLOT_VA(i) (PT_AREA_VA + offsetof(struct pt_area, slot) + (uint64_t)(i) * sizeof(struct pt_slot))
#define FIELD_VA(i, f) (SLOT_VA(i) + offsetof(struct pt_slot, f))
#define DEBUGREG_OFF offsetof(struct user, u_debugreg)
/* Options passed to the host: the events the monitor's own work reproduces one to one. */
#define HOST_OPTS (PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE | \
		   PTRACE_O_TRACEEXEC | PTRACE_O_TRACEVFORKDONE | PTRACE_O_TRACEEXIT | PTRACE_O_EXITKILL)

struct pt_tracee {
	pid_t tid;         /* 0: free entry */
	int slot;          /* its slot in the area, -1: not known yet */
	int stop;          /* enum pt_kind of the monitor-made stop it is in, 0: none */
	int mode;          /* enum pt_mode it was last resumed with */
	bool marked;       /* its area says "traced" */
	bool dune;         /* its area is there (a Dune process past its start) */
	uint64_t seq;      /* the sequence number of that stop */
	uint64_t ok_page;  /* last page found to be program memory, + 1 (this stop only) */
	unsigned long exec_msg;
};

struct pt_tracer {
	pthread_mutex_t lock;
	unsigned long opts; /* PTRACE_O_* the program asked for */
	struct pt_tracee e[PT_TRACEES];
};

static long hp(long req, pid_t pid, uint64_t addr, uint64_t data)
{
	return host_syscall(SYS_ptrace, (uint64_t)req, (uint64_t)pid, addr, data, 0, 0);
}

static long rd64(pid_t pid, uint64_t addr, uint64_t *v) { return hp(PTRACE_PEEKDATA, pid, addr, (uint64_t)v); }
static long wr64(pid_t pid, uint64_t addr, uint64_t v) { return hp(PTRACE_POKEDATA, pid, addr, v); }

static long rd(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	for (size_t i = 0; i < len; i += 8) {
		uint64_t w;
		long rc = rd64(pid, addr + i, &w);
		if (rc < 0)
			return rc;
		memcpy((char *)buf + i, &w, len - i < 8 ? len - i : 8);
	}
	return 0;
}

static long wr(pid_t pid, uint64_t addr, const void *buf, size_t len)
{
	for (size_t i = 0; i < len; i += 8) {
		uint64_t w = 0;
		memcpy(&w, (const char *)buf + i, len - i < 8 ? len - i : 8);
		long rc = wr64(pid, addr + i, w);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static struct pt_tracer *tracer(struct sb_proc *p)
{
	pthread_mutex_lock(&p->lock);
	if (!p->tracer) {
		p->tracer = calloc(1, sizeof *p->tracer);
		if (p->tracer)
			pthread_mutex_init(&p->tracer->lock, NULL);
	}
	pthread_mutex_unlock(&p->lock);
	return p->tracer;
}

static struct pt_tracee *add(struct pt_tracer *tr, pid_t tid)
{
	for (int i = 0; i < PT_TRACEES; i++)
		if (!tr->e[i].tid) {
			tr->e[i] = (struct pt_tracee){ .tid = tid, .slot = -1, .exec_msg = (unsigned long)tid };
			return &tr->e[i];
		}
	return NULL;
}

/* The tracee tid, or NULL. probe: a tid not listed yet that the host says this process traces
 * (a child the kernel attached on a fork or clone event, a tracer that attached before an exec)
 * is listed now; the host answers a PEEK only to its tracer, and only while it is stopped. */
static struct pt_tracee *find(struct pt_tracer *tr, pid_t tid, bool probe)
{
	for (int i = 0; i < PT_TRACEES; i++)
		if (tr->e[i].tid == tid)
			return &tr->e[i];
	uint64_t w;
	if (!probe || tid <= 0 || rd64(tid, PT_AREA_VA, &w) == -ESRCH)
		return NULL;
	return add(tr, tid);
}

/* Set the traced word of the tracee's area, so that its threads the tracer does not know say
 * hello; also finds out whether it is a Dune process. */
static void mark(struct pt_tracee *e)
{
	uint64_t magic = 0;
	e->dune = rd64(e->tid, PT_AREA_VA, &magic) == 0 && magic == PT_AREA_MAGIC;
	if (e->dune && wr64(e->tid, PT_AREA_VA + offsetof(struct pt_area, traced), 1) == 0)
		e->marked = true;
}

/* The tracee's slot, checked against its tid; -1 if it has none yet (it will say hello). */
static int locate(struct pt_tracee *e)
{
	uint64_t tid = 0, n = 0;
	if (!e->marked)
		mark(e); /* a tracee stopped by the host only (an attach): is it a Dune process? */
	if (!e->dune)
		return -1;
	if (e->slot >= 0 && rd64(e->tid, FIELD_VA(e->slot, tid), &tid) == 0 && (pid_t)tid == e->tid)
		return e->slot;
	e->slot = -1;
	if (rd64(e->tid, PT_AREA_VA + offsetof(struct pt_area, nslots), &n) < 0 || n > PT_SLOTS)
		return -1;
	for (uint64_t i = 0; i < n; i++)
		if (rd64(e->tid, FIELD_VA(i, tid), &tid) == 0 && (pid_t)tid == e->tid)
			return e->slot = (int)i;
	return -1;
}

/* [va, va+len) lies in pages the tracee's guest page tables give ring 3: program memory. */
static long program_memory(struct pt_tracee *e, uint64_t va, uint64_t len)
{
	if (!e->dune || va >= USER_VA_END || len > USER_VA_END - va)
		return -EIO;
	uint64_t pml4 = 0;
	if (rd64(e->tid, PT_AREA_VA + offsetof(struct pt_area, pml4), &pml4) < 0 || !pml4)
		return -EIO;
	for (uint64_t page = PAGE_DOWN(va); page < va + len; page += PAGE_SIZE) {
		if (e->ok_page == page + 1)
			continue;
		uint64_t table = pml4, ent = 0;
		for (int l = 4; l >= 1; l--) {
			int i = (int)((page >> (12 + 9 * (l - 1))) & 511);
			if (rd64(e->tid, table + 8 * (uint64_t)i, &ent) < 0 || (ent & (PTE_P | PTE_U)) != (PTE_P | PTE_U))
				return -EIO;
			if (l == 1 || (ent & PTE_PS))
				break;
			table = ent & PTE_ADDR;
		}
		e->ok_page = page + 1;
	}
	return 0;
}

/* ---- stops ---- */

static void resume_hidden(struct pt_tracee *e, int slot, uint64_t seq)
{
	wr64(e->tid, FIELD_VA(slot, traced), 1);
	wr64(e->tid, FIELD_VA(slot, ack), 1);
	wr64(e->tid, FIELD_VA(slot, mode), (uint64_t)e->mode);
	wr64(e->tid, FIELD_VA(slot, resume_seq), seq);
	hp(PTRACE_CONT, e->tid, 0, 0);
}

/* A stop made by the tracee's monitor (ptrace.h): 1 with the status the program sees, 0 if
 * hidden (the tracee was resumed), -1 if it is not one. */
static int monitor_stop(struct pt_tracer *tr, struct pt_tracee *e, int *status)
{
	struct user_regs_struct hr;
	uint64_t ctl[10];
	if (hp(PTRACE_GETREGS, e->tid, 0, (uint64_t)&hr) < 0 || hr.r10 != PT_AREA_MAGIC || hr.r8 >= PT_SLOTS ||
	    rd(e->tid, SLOT_VA(hr.r8), ctl, sizeof ctl) < 0)
		return -1;
	/* tid, stopping, kind, ..., stop_seq: only the monitor writes these. */
	if ((pid_t)ctl[0] != e->tid || !ctl[1] || ctl[8] != hr.r9)
		return -1;
	e->slot = (int)hr.r8;
	e->seq = hr.r9;
	if (!e->marked)
		mark(e);
	int sysgood = (tr->opts & PTRACE_O_TRACESYSGOOD) ? 0x80 : 0;
	switch (ctl[2]) {
	case PT_HELLO:
		resume_hidden(e, e->slot, e->seq);
		return 0;
	case PT_SYSCALL_ENTRY:
	case PT_SYSCALL_EXIT:
		*status = 0x7f | ((SIGTRAP | sysgood) << 8);
		break;
	case PT_SIGNAL: {
		uint64_t w = 0;
		rd64(e->tid, FIELD_VA(e->slot, info), &w);
		*status = 0x7f | ((int)(w & 0x7f) << 8);
		break;
	}
	case PT_EXEC:
		*status = (tr->opts & PTRACE_O_TRACEEXEC) ? 0x7f | ((SIGTRAP | (PTRACE_EVENT_EXEC << 8)) << 8)
							  : 0x7f | (SIGTRAP << 8);
		break;
	default:
		return -1;
	}
	wr64(e->tid, FIELD_VA(e->slot, traced), 1);
	wr64(e->tid, FIELD_VA(e->slot, ack), 1);
	e->stop = (int)ctl[2];
	return 1;
}

/* A host stop of a tracee: 1 to report *status, 0 if hidden. */
static int classify(struct pt_tracer *tr, pid_t pid, int *status)
{
	int st = *status;
	struct pt_tracee *e = find(tr, pid, WIFSTOPPED(st));
	if (!e)
		return 1;
	if (!WIFSTOPPED(st)) {
		e->tid = 0; /* gone */
		return 1;
	}
	e->stop = 0;
	e->ok_page = 0;
	int event = (st >> 16) & 0xff;
	uint64_t w;
	if (event == PTRACE_EVENT_EXEC ||
	    (event == 0 && WSTOPSIG(st) == SIGTRAP && rd64(pid, PT_AREA_VA, &w) < 0)) {
		/* The exec of the monitor's new image (the host's event, or the SIGTRAP of a tracee
		 * without that option): its program is not loaded yet. The new image makes the exec
		 * stop itself once it is (PT_EXEC). */
		if (event)
			hp(PTRACE_GETEVENTMSG, pid, 0, (uint64_t)&e->exec_msg);
		e->slot = -1;
		e->marked = e->dune = false;
		hp(PTRACE_CONT, pid, 0, 0);
		return 0;
	}
	if (event == 0 && WSTOPSIG(st) == PT_STOP_SIG) {
		int r = monitor_stop(tr, e, status);
		if (r >= 0)
			return r;
	}
	return 1;
}

long pt_wait4(struct sb_thread *t, const uint64_t a[6])
{
	struct sb_proc *p = t->p;
	uint64_t ust = a[1], ru = a[3];
	if ((ust && !sb_range_ok(p, ust, 4, PROT_WRITE)) || (ru && !sb_range_ok(p, ru, 144, PROT_WRITE)))
		return -EFAULT;
	for (;;) {
		int st = 0;
		long rc = sb_host_call(SYS_wait4, a[0], (uint64_t)&st, a[2], ru, 0, 0);
		if (rc <= 0)
			return rc;
		/* A stop can be a tracee's even before this process made a ptrace call (its child
		 * called PTRACE_TRACEME). */
		struct pt_tracer *tr = WIFSTOPPED(st) ? tracer(p) : p->tracer;
		int report = 1;
		if (tr) {
			pthread_mutex_lock(&tr->lock);
			report = classify(tr, (pid_t)rc, &st);
			pthread_mutex_unlock(&tr->lock);
		}
		if (report) {
			if (ust)
				memcpy((void *)ust, &st, 4);
			return rc;
		}
	}
}

long pt_waitid(struct sb_thread *t, const uint64_t a[6])
{
	struct sb_proc *p = t->p;
	uint64_t uinfo = a[2], ru = a[4];
	if ((uinfo && !sb_range_ok(p, uinfo, sizeof(siginfo_t), PROT_WRITE)) ||
	    (ru && !sb_range_ok(p, ru, 144, PROT_WRITE)))
		return -EFAULT;
	for (;;) {
		siginfo_t si;
		memset(&si, 0, sizeof si);
		long rc = sb_host_call(SYS_waitid, a[0], a[1], (uint64_t)&si, a[3], ru, 0);
		if (rc < 0)
			return rc;
		/* A stop is translated like wait4's (WNOWAIT leaves it, so it is shown as it is). */
		bool stopped = si.si_pid && si.si_code == CLD_TRAPPED && !(a[3] & WNOWAIT);
		bool gone = si.si_pid && (si.si_code == CLD_EXITED || si.si_code == CLD_KILLED ||
					  si.si_code == CLD_DUMPED) && !(a[3] & WNOWAIT);
		struct pt_tracer *tr = stopped ? tracer(p) : gone ? p->tracer : NULL;
		if (tr) {
			int st = stopped ? 0x7f | ((si.si_status & 0xffff) << 8) : 0;
			pthread_mutex_lock(&tr->lock);
			int report = classify(tr, si.si_pid, &st);
			pthread_mutex_unlock(&tr->lock);
			if (!report)
				continue;
			if (stopped)
				si.si_status = (st >> 8) & 0xffff;
		}
		if (uinfo)
			memcpy((void *)uinfo, &si, sizeof si);
		return rc;
	}
}

/* ---- requests ---- */

static long resume(struct pt_tracee *e, int mode, uint64_t sig, bool detach)
{
	if (sig > 64)
		return -EIO;
	e->mode = mode;
	e->ok_page = 0;
	if (!e->marked && !detach)
		mark(e);
	uint64_t traced = detach ? 0 : 1;
	if (e->stop) {
		int kind = e->stop;
		wr64(e->tid, FIELD_VA(e->slot, traced), traced);
		wr64(e->tid, FIELD_VA(e->slot, mode), (uint64_t)mode);
		wr64(e->tid, FIELD_VA(e->slot, resume_sig), (kind == PT_SIGNAL || kind == PT_EXEC) ? sig : 0);
		wr64(e->tid, FIELD_VA(e->slot, resume_seq), e->seq);
		e->stop = 0;
		return hp(detach ? PTRACE_DETACH : PTRACE_CONT, e->tid, 0, 0);
	}
	int slot = locate(e);
	if (slot >= 0) {
		wr64(e->tid, FIELD_VA(slot, traced), traced);
		wr64(e->tid, FIELD_VA(slot, ack), 1);
		wr64(e->tid, FIELD_VA(slot, mode), (uint64_t)mode);
	}
	return hp(detach ? PTRACE_DETACH : PTRACE_CONT, e->tid, 0, sig);
}

/* The slot whose published state a register or siginfo request reads, or -1. */
static int state_slot(struct pt_tracee *e)
{
	return e->stop ? e->slot : locate(e);
}

static long copy_out(struct sb_proc *p, uint64_t dst, const void *src, size_t len)
{
	if (!sb_range_ok(p, dst, len, PROT_WRITE))
		return -EFAULT;
	memcpy((void *)dst, src, len);
	return 0;
}

static long copy_in(struct sb_proc *p, void *dst, uint64_t src, size_t len)
{
	if (!sb_range_ok(p, src, len, PROT_READ))
		return -EFAULT;
	memcpy(dst, (const void *)src, len);
	return 0;
}

/* The guest registers of a tracee at a stop its monitor did not make (a real signal's
 * delivery, a fork event): the vCPU's state as KVM left it, with the user selectors Linux
 * shows and without the trap flag a single step set. */
static long live_regs(struct pt_tracee *e, int slot, struct user_regs_struct *u)
{
	uint64_t ptr[2], mode = 0;
	struct kvm_regs r;
	uint64_t fs = 0, gs = 0;
	long rc = rd(e->tid, FIELD_VA(slot, live_regs), ptr, sizeof ptr);
	if (!rc && (!ptr[0] || !ptr[1]))
		rc = -EIO;
	if (!rc)
		rc = rd(e->tid, ptr[0], &r, sizeof r);
	if (!rc)
		rc = rd64(e->tid, ptr[1] + offsetof(struct kvm_sregs, fs.base), &fs);
	if (!rc)
		rc = rd64(e->tid, ptr[1] + offsetof(struct kvm_sregs, gs.base), &gs);
	if (!rc)
		rc = rd64(e->tid, FIELD_VA(slot, mode), &mode);
	if (rc)
		return rc;
	memset(u, 0, sizeof *u);
	u->r15 = r.r15, u->r14 = r.r14, u->r13 = r.r13, u->r12 = r.r12, u->rbp = r.rbp, u->rbx = r.rbx;
	u->r11 = r.r11, u->r10 = r.r10, u->r9 = r.r9, u->r8 = r.r8, u->rax = r.rax, u->rcx = r.rcx;
	u->rdx = r.rdx, u->rsi = r.rsi, u->rdi = r.rdi, u->orig_rax = (uint64_t)-1, u->rip = r.rip;
	u->cs = 0x33, u->eflags = r.rflags & ~(mode == PT_MODE_STEP ? 0x100ull : 0), u->rsp = r.rsp;
	u->ss = 0x2b, u->fs_base = fs, u->gs_base = gs;
	return 0;
}

/* Registers (what = 1) or FPU state (what = 2) of the stopped tracee, read or written. */
static long regs_io(struct sb_proc *p, struct pt_tracee *e, int what, bool set, uint64_t buf, size_t len)
{
	int slot = state_slot(e);
	uint8_t tmp[512];
	if (slot < 0 && !set && e->dune) {
		/* A thread of a Dune process that runs no guest code (KVM's own worker thread in the
		 * process, a thread not started yet): nothing of the program, so zeros. */
		memset(tmp, 0, sizeof tmp);
		if (what == 1)
			((struct user_regs_struct *)tmp)->cs = 0x33, ((struct user_regs_struct *)tmp)->ss = 0x2b;
		return copy_out(p, buf, tmp, len);
	}
	if (slot < 0 || (set && !e->stop))
		return -EIO;
	uint64_t va = what == 1 ? FIELD_VA(slot, regs) : FIELD_VA(slot, fpu);
	if (what == 1 && !e->stop) {
		long rc = live_regs(e, slot, (struct user_regs_struct *)tmp);
		return rc ? rc : copy_out(p, buf, tmp, len);
	}
	if (set) {
		long rc = copy_in(p, tmp, buf, len);
		if (!rc)
			rc = wr(e->tid, va, tmp, len);
		uint64_t dirty = 0;
		if (!rc && !(rc = rd64(e->tid, FIELD_VA(slot, dirty), &dirty)))
			rc = wr64(e->tid, FIELD_VA(slot, dirty), dirty | (uint64_t)what);
		return rc;
	}
	long rc = rd(e->tid, va, tmp, len);
	return rc ? rc : copy_out(p, buf, tmp, len);
}

static long regset(struct sb_proc *p, struct pt_tracee *e, uint64_t type, uint64_t giov, bool set)
{
	struct iovec iov;
	if (copy_in(p, &iov, giov, sizeof iov))
		return -EFAULT;
	size_t full = type == NT_PRSTATUS ? sizeof(struct user_regs_struct) : type == NT_PRFPREG ? 512 : 0;
	if (!full)
		return -EINVAL; /* NT_X86_XSTATE and the others: not published */
	size_t len = iov.iov_len < full ? iov.iov_len : full;
	if (set && len != full)
		return -EINVAL;
	long rc = regs_io(p, e, type == NT_PRSTATUS ? 1 : 2, set, (uint64_t)iov.iov_base, len);
	if (rc)
		return rc;
	iov.iov_len = len;
	return copy_out(p, giov, &iov, sizeof iov);
}

/* PTRACE_PEEKUSER / POKEUSER: the registers part of struct user, and debug registers read as 0
 * (no hardware breakpoints or watchpoints: writing anything but 0 to them is refused). */
static long user_area(struct sb_proc *p, struct pt_tracee *e, uint64_t off, uint64_t data, bool poke)
{
	if (off & 7)
		return -EIO;
	if (off >= DEBUGREG_OFF && off < DEBUGREG_OFF + 8 * 8) {
		uint64_t zero = 0;
		return poke ? (data ? -EIO : 0) : copy_out(p, data, &zero, 8);
	}
	int slot = state_slot(e);
	if (off >= sizeof(struct user_regs_struct) || slot < 0 || (poke && !e->stop))
		return -EIO;
	uint64_t va = FIELD_VA(slot, regs) + off, w = 0, dirty = 0;
	if (!poke && !e->stop) {
		struct user_regs_struct u;
		long rc = live_regs(e, slot, &u);
		return rc ? rc : copy_out(p, data, (const char *)&u + off, 8);
	}
	if (!poke) {
		long rc = rd64(e->tid, va, &w);
		return rc ? rc : copy_out(p, data, &w, 8);
	}
	long rc = wr64(e->tid, va, data);
	if (!rc && !(rc = rd64(e->tid, FIELD_VA(slot, dirty), &dirty)))
		rc = wr64(e->tid, FIELD_VA(slot, dirty), dirty | 1);
	return rc;
}

static long siginfo_io(struct sb_proc *p, struct pt_tracer *tr, struct pt_tracee *e, uint64_t data, bool set)
{
	siginfo_t si;
	memset(&si, 0, sizeof si);
	if (!e->stop) {
		if (!set) {
			long rc = hp(PTRACE_GETSIGINFO, e->tid, 0, (uint64_t)&si);
			return rc ? rc : copy_out(p, data, &si, sizeof si);
		}
		long rc = copy_in(p, &si, data, sizeof si);
		return rc ? rc : hp(PTRACE_SETSIGINFO, e->tid, 0, (uint64_t)&si);
	}
	if (e->stop == PT_SIGNAL) {
		if (set) {
			long rc = copy_in(p, &si, data, sizeof si);
			return rc ? rc : wr(e->tid, FIELD_VA(e->slot, info), &si, sizeof si);
		}
		long rc = rd(e->tid, FIELD_VA(e->slot, info), &si, sizeof si);
		return rc ? rc : copy_out(p, data, &si, sizeof si);
	}
	if (set)
		return 0; /* a syscall or exec stop: nothing to deliver, as natively */
	si.si_signo = SIGTRAP;
	si.si_pid = e->tid;
	if (e->stop == PT_EXEC)
		si.si_code = (tr->opts & PTRACE_O_TRACEEXEC) ? SIGTRAP | (PTRACE_EVENT_EXEC << 8) : SI_USER;
	else
		si.si_code = SIGTRAP | ((tr->opts & PTRACE_O_TRACESYSGOOD) ? 0x80 : 0);
	return copy_out(p, data, &si, sizeof si);
}

static long peek_poke(struct sb_proc *p, struct pt_tracee *e, long req, uint64_t addr, uint64_t data)
{
	long rc = program_memory(e, addr, 8);
	if (rc)
		return rc;
	if (req == PTRACE_POKETEXT || req == PTRACE_POKEDATA)
		return hp(PTRACE_POKEDATA, e->tid, addr, data);
	uint64_t w;
	rc = hp(PTRACE_PEEKDATA, e->tid, addr, (uint64_t)&w);
	return rc ? rc : copy_out(p, data, &w, 8);
}

/* Requests on a tracee it stops for (the tracer holds tr->lock). */
static long on_tracee(struct sb_proc *p, struct pt_tracer *tr, struct pt_tracee *e, long req, uint64_t addr,
		      uint64_t data)
{
	switch (req) {
	case PTRACE_CONT: return resume(e, PT_MODE_CONT, data, false);
	case PTRACE_SYSCALL: return resume(e, PT_MODE_SYSCALL, data, false);
	case PTRACE_SINGLESTEP: return resume(e, PT_MODE_STEP, data, false);
	case PTRACE_DETACH: {
		long rc = resume(e, PT_MODE_CONT, data, true);
		e->tid = 0;
		return rc;
	}
	case PTRACE_KILL: case PTRACE_INTERRUPT: case PTRACE_LISTEN:
		return hp(req, e->tid, 0, 0);
	case PTRACE_PEEKTEXT: case PTRACE_PEEKDATA: case PTRACE_POKETEXT: case PTRACE_POKEDATA:
		return peek_poke(p, e, req, addr, data);
	case PTRACE_PEEKUSER: return user_area(p, e, addr, data, false);
	case PTRACE_POKEUSER: return user_area(p, e, addr, data, true);
	case PTRACE_GETREGS: return regs_io(p, e, 1, false, data, sizeof(struct user_regs_struct));
	case PTRACE_SETREGS: return regs_io(p, e, 1, true, data, sizeof(struct user_regs_struct));
	case PTRACE_GETFPREGS: return regs_io(p, e, 2, false, data, 512);
	case PTRACE_SETFPREGS: return regs_io(p, e, 2, true, data, 512);
	case PTRACE_GETREGSET: return regset(p, e, addr, data, false);
	case PTRACE_SETREGSET: return regset(p, e, addr, data, true);
	case PTRACE_GETSIGINFO: return siginfo_io(p, tr, e, data, false);
	case PTRACE_SETSIGINFO: return siginfo_io(p, tr, e, data, true);
	case PTRACE_GETEVENTMSG: {
		unsigned long msg = e->exec_msg;
		if (e->stop != PT_EXEC) {
			long rc = hp(PTRACE_GETEVENTMSG, e->tid, 0, (uint64_t)&msg);
			if (rc)
				return rc;
		}
		return copy_out(p, data, &msg, sizeof msg);
	}
	case PTRACE_SETOPTIONS: {
		if (data & ~(unsigned long)(HOST_OPTS))
			return -EINVAL; /* PTRACE_O_TRACESECCOMP, SUSPEND_SECCOMP: not for Dune processes */
		tr->opts = data;
		return hp(PTRACE_SETOPTIONS, e->tid, 0, data | PTRACE_O_TRACEEXEC);
	}
	default:
		return -EIO; /* PTRACE_GET_SYSCALL_INFO, SYSEMU, PEEKSIGINFO, sigmask, ARCH_PRCTL...: not supported */
	}
}

static long traceme(struct sb_thread *t)
{
	long rc = hp(PTRACE_TRACEME, 0, 0, 0);
	if (rc == 0 && t->pt) {
		t->p->pt_area->traced = 1;
		t->pt->traced = 1;
		t->pt->ack = 1;
		t->pt->mode = PT_MODE_CONT;
	}
	return rc;
}

long sb_ptrace(struct sb_thread *t, const uint64_t a[6])
{
	long req = (long)a[0];
	pid_t pid = (pid_t)a[1];
	if (req == PTRACE_TRACEME)
		return traceme(t);
	struct pt_tracer *tr = tracer(t->p);
	if (!tr)
		return -ENOMEM;
	pthread_mutex_lock(&tr->lock);
	long rc;
	if (req == PTRACE_ATTACH || req == PTRACE_SEIZE) {
		if (req == PTRACE_SEIZE && (a[3] & ~(unsigned long)(HOST_OPTS)))
			rc = -EINVAL;
		else
			rc = hp(req, pid, 0, req == PTRACE_SEIZE ? a[3] | PTRACE_O_TRACEEXEC : 0);
		if (rc == 0) {
			if (req == PTRACE_SEIZE)
				tr->opts = a[3];
			struct pt_tracee *e = find(tr, pid, false);
			if (!e && !add(tr, pid))
				rc = -ENOMEM;
		}
	} else {
		struct pt_tracee *e = find(tr, pid, true);
		rc = e ? on_tracee(t->p, tr, e, req, a[2], a[3]) : -ESRCH;
	}
	pthread_mutex_unlock(&tr->lock);
	return rc;
}

/* ---- /proc/PID/auxv ---- */

/* The process /proc path names if it is an auxv file ("/proc/P/auxv", "/proc/P/task/T/auxv"),
 * else 0. */
static pid_t auxv_owner(const char *path)
{
	int pid = 0, tid = 0, end = 0;
	if (sscanf(path, "/proc/%d/auxv%n", &pid, &end) == 1 && end && !path[end])
		return pid;
	end = 0;
	if (sscanf(path, "/proc/%d/task/%d/auxv%n", &pid, &tid, &end) == 2 && end && !path[end])
		return pid;
	return 0;
}

/* The auxiliary vector of process pid as its program was given it, or false: this process's
 * own, or a stopped tracee's read from its stop area. */
static bool program_auxv(struct sb_proc *p, pid_t pid, uint64_t auxv[2 * PT_AUXV])
{
	if (pid == (pid_t)host_syscall(SYS_getpid, 0, 0, 0, 0, 0, 0)) {
		if (!p->pt_area)
			return false;
		memcpy(auxv, p->pt_area->auxv, sizeof p->pt_area->auxv);
		return true;
	}
	struct pt_tracer *tr = p->tracer;
	if (!tr)
		return false;
	pthread_mutex_lock(&tr->lock);
	struct pt_tracee *e = find(tr, pid, false);
	uint64_t magic = 0;
	bool ok = e && rd64(pid, PT_AREA_VA, &magic) == 0 && magic == PT_AREA_MAGIC &&
		  rd(pid, PT_AREA_VA + offsetof(struct pt_area, auxv), auxv, 2 * PT_AUXV * 8) == 0;
	pthread_mutex_unlock(&tr->lock);
	return ok;
}

long pt_auxv_file(struct sb_proc *p, long fd)
{
	struct statfs sf;
	char link[64], target[128];
	snprintf(link, sizeof link, "/proc/self/fd/%d", (int)fd);
	if (fstatfs((int)fd, &sf) < 0 || sf.f_type != PROC_SUPER_MAGIC)
		return fd;
	ssize_t n = readlink(link, target, sizeof target - 1);
	if (n <= 0)
		return fd;
	target[n] = 0;
	pid_t pid = auxv_owner(target);
	uint64_t auxv[2 * PT_AUXV] = { 0 };
	if (!pid || !program_auxv(p, pid, auxv))
		return fd;
	size_t len = 0;
	while (len < PT_AUXV - 1 && auxv[2 * len] != AT_NULL)
		len++;
	len = (len + 1) * 16; /* with AT_NULL, as the kernel's file */
	int cloexec = fcntl((int)fd, F_GETFD) & FD_CLOEXEC;
	int m = (int)host_syscall(SYS_memfd_create, (uint64_t)"auxv", cloexec ? MFD_CLOEXEC : 0, 0, 0, 0, 0);
	if (m < 0)
		return fd;
	if (write(m, auxv, len) != (ssize_t)len || lseek(m, 0, SEEK_SET) != 0 ||
	    dup3(m, (int)fd, cloexec ? O_CLOEXEC : 0) < 0) {
		close(m);
		return fd;
	}
	close(m);
	return fd;
}
