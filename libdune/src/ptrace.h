/* ptrace for Dune processes (ptrace.c).
 *
 * The tracer's monitor really traces the tracee's host process (so wait4 reports stops as the
 * kernel does), and translates every request: registers come from the guest state the
 * tracee's monitor publishes, memory is the tracee's program memory only (its guest page
 * tables decide, read by the tracer's monitor), and syscall, single-step and fault stops are
 * made by the tracee's monitor at guest boundaries. The tracee's monitor publishes its guest
 * state in the stop area, monitor memory at a fixed address never mapped into the guest, and
 * stops itself with a signal (PT_STOP_SIG, sent to its own thread with the area's magic and
 * the slot in registers) that the tracer's monitor recognises, translates and suppresses. */
#ifndef DUNE_PTRACE_H
#define DUNE_PTRACE_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/user.h>

#define PT_AREA_VA 0x200000000000ull           /* the stop area, in every Dune process */
#define PT_AREA_MAGIC 0x6563617274656e75ull    /* "unetrace" */
#define PT_STOP_SIG SIGURG                     /* default action ignore: lost when untraced */
#define PT_SLOTS 250                           /* one per vCPU index (MAX_VCPUS) */
#define PT_AUXV 32                             /* auxiliary vector entries kept */

/* Why the tracee's monitor stopped (pt_slot.kind). */
enum pt_kind { PT_HELLO = 1, PT_SYSCALL_ENTRY, PT_SYSCALL_EXIT, PT_SIGNAL, PT_EXEC };
/* How the tracer resumed it (pt_slot.mode). */
enum pt_mode { PT_MODE_CONT = 0, PT_MODE_SYSCALL, PT_MODE_STEP };

/* One guest thread's published state. Control words are 64-bit so that the tracer's monitor
 * reads and writes them with one PTRACE_PEEKDATA/POKEDATA each. Written by the tracee's monitor:
 * tid, stopping, kind, stop_seq, regs/info/fpu at a stop; by the tracer's monitor (the tracee
 * stopped): traced, ack, mode, resume_sig, dirty, resume_seq, regs/info/fpu edits. */
struct pt_slot {
	int64_t tid;
	uint64_t stopping;
	uint64_t kind;
	uint64_t traced;
	uint64_t ack;        /* the tracer knows this slot: no hello needed */
	uint64_t mode;
	int64_t resume_sig;
	uint64_t dirty;      /* 1: regs edited, 2: fpu edited */
	uint64_t stop_seq;
	uint64_t resume_seq; /* == stop_seq: a tracer answered the stop */
	/* The vCPU's own register state (KVM's run page: kvm_regs, kvm_sregs), where a tracer
	 * reads the guest's registers at a stop the monitor did not make (a real signal). */
	uint64_t live_regs, live_sregs;
	struct user_regs_struct regs;
	siginfo_t info;
	uint8_t fpu[512];    /* FXSAVE layout (user_fpregs_struct) */
};

struct pt_area {
	uint64_t magic;
	uint64_t traced;     /* some thread is traced: threads not yet known say hello */
	uint64_t nslots;     /* slots [0, nslots) have been used */
	uint64_t pml4;       /* the guest page tables: what is program memory */
	uint64_t auxv[2 * PT_AUXV];  /* the program's auxiliary vector as loaded (AT_NULL ends it) */
	struct pt_slot slot[PT_SLOTS];
};

struct sb_proc;
struct sb_thread;

/* Tracee side (the monitor loop calls these). */
/* Map the area (at start, once the VM exists and the initial stack at rsp is built; none if
 * the address is taken). */
void pt_area_init(struct sb_proc *p, uint64_t rsp);
/* A thread starts (or is the child of a fork): its slot. */
void pt_thread_start(struct sb_thread *t);
/* Before each guest entry: hello to a tracer that does not know this thread yet, single-step. */
void pt_before_run(struct sb_thread *t);
/* Right after an exit: drop the trap flag the monitor set; true if it was set (a step ended). */
bool pt_after_exit(struct sb_thread *t);
/* Syscall stops. pt_syscall_entry returns false when the tracer skipped the call (orig_rax -1). */
bool pt_syscall_entry(struct sb_thread *t);
void pt_syscall_exit(struct sb_thread *t, int nr);
/* A signal the monitor makes for the program (fault, trap): the signal to deliver, 0 for none. */
int pt_signal(struct sb_thread *t, int sig, int code, uint64_t addr);
/* execve: the --ptraced value for the new image (-1: not traced). */
int pt_exec_arg(struct sb_thread *t);
/* The new image of a traced process, before the first guest instruction (exec_nr from
 * --ptraced): the exec stop, and the execve syscall-exit stop if it was entered in that mode. */
void pt_after_exec(struct sb_thread *t, int exec_nr);
/* The host signal handler: is this the monitor's own stop signal? */
bool pt_is_own_stop(struct sb_thread *t, int sig, const siginfo_t *info);

/* Tracer side (the system-call dispatch). */
long sb_ptrace(struct sb_thread *t, const uint64_t a[6]);
/* wait4 for a process that traces: stops translated, the monitor's own hidden. */
long pt_wait4(struct sb_thread *t, const uint64_t a[6]);
/* The same for waitid (without WNOWAIT: a stop it leaves in place is shown as it is). */
long pt_waitid(struct sb_thread *t, const uint64_t a[6]);
/* fd, just opened for the program: if it is /proc/PID/auxv of this process or of a stopped
 * tracee, a descriptor with the program's auxiliary vector instead (the host's file shows the
 * monitor's); else fd. */
long pt_auxv_file(struct sb_proc *p, long fd);

#endif
