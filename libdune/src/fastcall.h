/* Fast calls: getpid answered in the guest, below the exit floor.
 *
 * Every `syscall` of a Dune process is an exit to the monitor (tens of us on
 * this host's nested hypervisor). A call whose answer the monitor knows ahead
 * and the policy allows unconditionally can be answered by guest code instead:
 * when such a call exits from a site `mov $nr,%eax; syscall` (the 7 bytes
 * glibc's and musl's wrappers compile to), the monitor rewrites the 5-byte
 * `mov` into a `jmp` to a per-site stub it wrote in a page mapped read+execute
 * (never writable) in the guest, within reach of a rel32 (+-2 GiB) of the site.
 * The `syscall` after it stays, so a thread stopped between the two
 * instructions still makes the call. Unless a vfork child runs on the address space
 * (then it takes that syscall: fc_hold), the stub counts the call, loads the answer
 * from a page mapped read-only in the guest (the monitor keeps it correct:
 * the pid is rewritten in a forked child) and jumps back after the `syscall`,
 * keeping RFLAGS as `sysret` would. It uses no stack (no red zone to mind).
 *
 * Only getpid is answered (its result changes only across fork, which the
 * monitor performs); only sites in private, read+execute (not writable)
 * program memory, not preceded by a prefix byte, are rewritten, only while the process has one thread (no
 * other vCPU can be executing the bytes being rewritten), and never under
 * --trace (every call must then reach the trace). Each area is three pages:
 * stubs (guest R+X), answers (guest R, NX), the counter (guest R+W, NX: the
 * only page the guest can write, holding nothing but the count the monitor
 * folds into the stats with an atomic exchange). None of them is program
 * memory: pointers into them fail the checks (EFAULT), munmap/mprotect/
 * MAP_FIXED cannot reach them. libdune/README.md (Design, Fast calls) and
 * docs/security.md give the argument. */
#ifndef DUNE_FASTCALL_H
#define DUNE_FASTCALL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define FC_AREAS 16      /* areas per process (each serves sites within +-2 GiB of it) */
#define FC_STUB_SIZE 64  /* bytes per rewritten site */

struct fc_area {
	uint64_t base; /* 3 pages: stubs, answers, counter */
	unsigned used; /* stubs written */
};

struct fc_state {
	bool enabled;       /* --no-fastcall or --trace: false */
	bool getpid_always; /* the policy allows getpid with no condition */
	int holds;          /* vfork children running on this address space: stubs take the exit path */
	int nareas;
	struct fc_area area[FC_AREAS];
};

struct sb_thread;
struct sb_proc;
struct dune_vm;
struct sb_stats;

/* At start (and in each exec'd image): enabled unless turned off; the policy decides
 * which calls may be answered in the guest. */
void fc_init(struct fc_state *s, bool enabled, bool getpid_always);
/* After t's call nr was performed through the exit path with result ret: rewrite its
 * site when it qualifies (see above). */
void fc_after_call(struct sb_thread *t, int nr, long ret);
/* The counts the guest's stubs made since the last fold, added to the stats. */
void fc_fold(struct fc_state *s, struct sb_stats *stats);
/* In a forked child (before its first guest entry): the answers are the child's; the
 * counters restart at 0 (the parent folds its own); no vfork child holds it. */
void fc_after_fork(struct fc_state *s);
/* A vfork child is about to run on this address space (hold) / no longer does (release):
 * while held, every stub jumps to its site's syscall instead of answering (the answer is
 * the parent's pid), and no site is rewritten. */
void fc_hold(struct fc_state *s);
void fc_release(struct fc_state *s);

#endif
