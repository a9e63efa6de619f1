/* The sandbox: runs an unmodified program in guest ring 3 and performs its
 * system calls on the host after the policy and the argument checks. */
#ifndef DUNE_SANDBOX_H
#define DUNE_SANDBOX_H

#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>

#include "fastcall.h"
#include "kmod_policy.h"
#include "fault_around.h"
#include "uffd.h"
#include "objects.h"
#include "policy.h"
#include "ptrace.h"
#include "vm.h"

/* Counters shared by every Dune process of one dune-run tree (a shared
 * mapping inherited across fork and handed over across exec). */
struct sb_stats {
	uint64_t exits, syscalls, forwarded, denied, page_faults, vcpus, signals, processes;
	uint64_t fastcalls;      /* calls answered in the guest (fastcall.h): counted by the stubs */
	uint64_t fastcall_sites; /* call sites rewritten to stubs */
	uint64_t denied_by_nr[SYSCALL_MAX];
	uint64_t kernel_syscalls; /* calls the module performed without an exit (kmod_policy.h) */
	char backend[8];          /* the backend of the last process started ("kvm", "dune") */
};

struct guest_sigaction {
	uint64_t handler, flags, restorer, mask;
};

struct sb_thread;
struct sb_process_ops;

/* What the kernel keeps per process (pid, signal dispositions, threads, exit) is in
 * struct sb_proc; what it keeps per address space (the VM and its page tables, the program's
 * memory map, fault-around, brk, SysV attachments, reserved ranges) belongs to the process
 * that owns the memory, sb_proc.mm. A vfork child (clone with CLONE_VM|CLONE_VFORK) is a
 * process of its own whose mm is its parent's until it execs or exits (vfork.c). */
struct sb_proc {
	struct dune_vm *vm;    /* mm->vm */
	struct sb_proc *mm;    /* the owner of the address space: this process, or a vfork child's parent's */
	const struct sb_process_ops *ops; /* clone, execve, exit: the monitor loop's (proc.c) */
	struct fa_state fa;    /* the VM's pager: fault-around for anonymous memory (mm's) */
	struct fc_state fc;    /* getpid answered in the guest (fastcall.h; mm's) */
	bool fc_off;           /* --no-fastcall (passed on to exec'd images) */
	bool kc_off;           /* --no-kernel-syscalls (passed on to exec'd images) */
	bool kc_on;            /* the backend performs unconditionally allowed calls (kmod_policy.h) */
	struct policy *policy;
	struct sb_stats *stats;
	int stats_fd;          /* memfd behind stats */
	const char *stats_path; /* written at exit by the root process */
	bool is_root;
	bool trace;
	int trace_fd;
	int self_fd;           /* the dune-run image, for execve */
	struct mon_objects objs; /* what the program must never name (objects.h) */
	bool tsc_same;         /* vDSO announced: the guest reads the host's TSC (probed once, passed on) */
	char exe[4096];        /* what /proc/self/exe answers */
	pthread_mutex_t lock;  /* sigactions, thread list; for the mm's fields below, mm->lock */
	struct guest_sigaction act[65];
	int nthreads;
	struct sb_thread *threads;
	/* Per address space (used through mm, under mm->lock). */
	uint64_t brk_start, brk_cur;
	struct shm_attach { uint64_t addr, size; } shm[64]; /* SysV segments attached */
	/* vfork children running on this address space now (guest_next): their checked spans
	 * count as much as this process's threads' (memcheck.c). */
	struct sb_thread *guests;
	int nguests;
	/* Freed program memory stays reserved (PROT_NONE, not the program's)
	 * while another thread's checked pointers (its hull) reach into it, so
	 * the monitor cannot get those addresses back before that thread's
	 * host call is over. */
	struct tomb { uint64_t addr, len; } *tombs;
	size_t ntombs, captombs;
	struct sb_uffds uffds;  /* userfaultfd descriptors made here (uffd.h) */
	struct pt_area *pt_area;   /* the stop area (ptrace.h), or NULL */
	struct pt_tracer *tracer;  /* what this process traces (ptrace.c), or NULL */
	bool pt_fc_held;           /* traced: mm's fast calls held, every call exits (ptrace.c) */
};

struct sb_thread {
	struct sb_proc *p;
	struct dune_vcpu *vcpu;
	struct sb_thread *next;
	uint64_t mask;          /* the program's signal mask for this thread */
	uint64_t pending;       /* caught on the host, not yet delivered */
	siginfo_t info[65];
	stack_t alt;            /* sigaltstack, kept by the monitor */
	bool suspend_mask;      /* rt_sigsuspend: frame must save saved_mask */
	uint64_t hull_lo, hull_hi; /* span of the pointers checked since the last exit */
	uint64_t saved_mask;
	pid_t tid;
	/* What the kernel would keep for this thread (futex_exit.c): recorded
	 * here and acted on by the monitor, never handed to the host kernel. */
	uint64_t clear_child_tid;
	uint64_t robust_head;
	/* Where the host thread returns to glibc (thread_main), so glibc
	 * reclaims its stack; NULL: the process's initial thread. */
	jmp_buf *exit_jmp;
	struct sb_thread *guest_next; /* a vfork child's thread: in its mm owner's guests */
	/* A vfork child's execve: the monitor's copies of its vectors, which a successful exec
	 * leaves in the shared memory; the parent frees them (vfork.c). */
	char **exec_argv, **exec_envp, **exec_nargv;
	/* ptrace (ptrace.h): this thread's slot, the trap flag the monitor set for a single
	 * step, inside its own stop, the call being handled and whether its entry stop was made
	 * (the kernel reports a syscall exit only after it reported the entry). */
	struct pt_slot *pt;
	bool pt_tf, pt_stopping, pt_entered;
	int pt_nr;
};

struct sb_options {
	const char *stats_path;
	bool trace;
	int trace_fd;
	int stats_fd;
	int kvm_fd; /* inherited device fd, or -1 to open /dev/kvm (or /dev/dune) */
	const struct hw_ops *hw; /* the backend (backend.h); NULL: KVM */
	int self_fd; /* the sealed image this process runs from (self_image.h), or -1 */
	bool is_root;
	bool count_process; /* stats_fd is a container's counters file: this is one more process */
	const char *comm;   /* the process name (an execve's file name), or NULL: the program's */
	bool no_fault_around; /* every page present up front (fault_around.h) */
	bool no_fastcall; /* every call exits to the monitor (fastcall.h) */
	bool no_kernel_syscalls; /* the module performs no call itself (kmod_policy.h) */
	bool tsc_same; /* exec'd image: the previous image's probe found the guest TSC is the host's */
	int ptraced; /* exec'd image of a traced thread: 1 + pt_exec_arg before the exec; 0: not traced */
};

/* The counters as one JSON object (what --stats and --print-stats write). */
void sb_stats_json(const struct sb_stats *s, const char *backend, FILE *f);

/* Load path and run it; never returns on success (exits with the
 * program's status). Returns a shell-like status (126/127) on failure. */
int sandbox_run(struct policy *pol, const struct sb_options *opt, const char *path,
		char *const argv[], char *const envp[]);

#endif

/* ---- shared between the sandbox's source files ---- */

/* A system call on the host, without libc's errno: returns -errno. */
static inline long host_syscall(long n, uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e, uint64_t f)
{
	register uint64_t r10 __asm__("r10") = d;
	register uint64_t r8 __asm__("r8") = e;
	register uint64_t r9 __asm__("r9") = f;
	long ret;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

/* Result of handling one system call. */
enum sb_done {
	SB_RETURN,  /* put the value in rax */
	SB_NORET,   /* registers already set (rt_sigreturn, clone child...) */
};

/* Program memory as the monitor checks it (memcheck.c), below calls and signals. */
/* Every byte of [addr, addr+len) is the program's with at least need; recorded in the
 * calling thread's checked span. */
bool sb_range_ok(struct sb_proc *p, uint64_t addr, uint64_t len, int need);
/* Give up program memory on the host (see sb_proc.tombs). */
void sb_release_range(struct sb_proc *p, uint64_t addr, uint64_t len);
/* Does another thread's checked span reach [addr, addr+len)? */
bool sb_range_busy(struct sb_proc *p, uint64_t addr, uint64_t len);
/* [start, end) lies in a range kept reserved: it is the program's again (true). */
bool sb_take_reserved(struct sb_proc *p, uint64_t start, uint64_t end);
/* The host's mapping at addr (/proc/self/maps, read without stdio: no allocation on the
 * syscall path): false when nothing is mapped there. */
struct host_mapping {
	bool private_; /* MAP_PRIVATE (copy-on-write) */
	bool anon;     /* no file behind it */
};
bool sb_host_mapping(uint64_t addr, struct host_mapping *out);
/* Start of each monitor-loop round: forget this thread's checked span and
 * release reserved ranges no other thread's span reaches. */
void sb_hull_reset(struct sb_thread *t);

/* System calls (syscalls.c). */
bool sb_is_monitor_fd(struct sb_proc *p, int fd);
/* The calls that make, replace or end threads and processes belong to the monitor loop
 * above the system-call layer (proc.c); the dispatch reaches them only through this
 * interface, which the loop installs in sb_proc.ops. */
struct sb_process_ops {
	long (*clone)(struct sb_thread *t, uint64_t flags, uint64_t newsp, uint64_t ptid, uint64_t ctid,
		      uint64_t tls, enum sb_done *done);
	long (*execve)(struct sb_thread *t, int dirfd, uint64_t path, uint64_t argv, uint64_t envp, int flags);
	void (*exit_thread)(struct sb_thread *t, int status); /* never returns */
};
long sb_syscall(struct sb_thread *t, int nr, uint64_t a[6], enum sb_done *done);
/* Whether an allowed call nr reaches the host kernel as the program made it (same number,
 * arguments checked or replaced by checked copies): what a kernel seccomp filter under the
 * monitor can notify its listener of (SCMP_ACT_NOTIFY). */
bool sb_forwarded_as_made(int nr);

/* Signals (signal.c). */
void sb_signals_init(struct sb_proc *p);
void sb_bind_thread(struct sb_thread *t);
/* A host call made for the program that may block (pass-through, futex, select, wait4, ioctl,
 * fcntl, mmsg, sigsuspend): it is not made, and gives SB_CALL_NOT_MADE, when a signal the
 * program does not block was caught just before it, so that signal is delivered first and the call made again
 * after its handler (whatever SA_RESTART says: the call had not started). */
#define SB_CALL_NOT_MADE (-513L) /* the kernel's -ERESTARTNOINTR */
long sb_host_call(long nr, uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e, uint64_t f);
long sb_rt_sigaction(struct sb_thread *t, int sig, uint64_t act, uint64_t oact, uint64_t size);
long sb_rt_sigprocmask(struct sb_thread *t, int how, uint64_t set, uint64_t oset, uint64_t size);
long sb_sigaltstack(struct sb_thread *t, uint64_t ss, uint64_t oss);
long sb_rt_sigreturn(struct sb_thread *t);
long sb_rt_sigsuspend(struct sb_thread *t, uint64_t set, uint64_t size);
long sb_rt_sigpending(struct sb_thread *t, uint64_t set, uint64_t size);
/* Deliver what is pending and deliverable; called before each guest entry. */
void sb_deliver_pending(struct sb_thread *t);
/* A synchronous fault (or seccomp-style trap) for the program. */
void sb_force_signal(struct sb_thread *t, int sig, int code, uint64_t addr, int trapno, uint64_t err,
		     const siginfo_t *extra);
bool sb_should_restart(struct sb_thread *t);
/* Write the stats file (root) and end the process like the kernel would. */
_Noreturn void sb_exit_group(struct sb_proc *p, int status);
_Noreturn void sb_die_by_signal(struct sb_proc *p, int sig);
void sb_write_stats(struct sb_proc *p);

/* Processes and threads (proc.c): the monitor loop, on top of the calls and signals. */
_Noreturn void sb_thread_loop(struct sb_thread *t);
/* clone(CLONE_VM|CLONE_VFORK), vfork (vfork.c): a child process sharing t's memory and VM,
 * on a vCPU of that VM; t waits until the child execs or exits. Returns its pid or -errno. */
long sb_vfork(struct sb_thread *t, uint64_t flags, uint64_t newsp, uint64_t ptid, uint64_t ctid, uint64_t tls);
/* In the child of a fork: p's address space is its own copy now (no more a vfork parent's). */
void sb_own_mm(struct sb_proc *p);

/* clear_child_tid and robust futex lists (futex_exit.c). */
long sb_set_tid_address(struct sb_thread *t, uint64_t tidptr);
long sb_set_robust_list(struct sb_thread *t, uint64_t head, uint64_t len);
long sb_get_robust_list(struct sb_thread *t, int pid, uint64_t head_ptr, uint64_t len_ptr);
/* End of guest thread t: walk its robust list, then (clear_tid) zero and
 * wake clear_child_tid. Only program memory is touched. */
void sb_futex_thread_exit(struct sb_thread *t, bool clear_tid);
/* Process exit (exit_group, death by signal): every listed thread's robust list. */
void sb_futex_process_exit(struct sb_proc *p);
