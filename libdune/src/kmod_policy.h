/* The module's in-kernel syscall fast path, seen from the monitor (kmod/syscall.c does the
 * calls): which calls the module may perform without an exit (compiled from the policy once
 * per VM), when it may (per run), and what it counted. The KVM backend has no fast path: all
 * three do nothing there. */
#ifndef DUNE_KMOD_POLICY_H
#define DUNE_KMOD_POLICY_H

#include <stdbool.h>

struct sb_proc;
struct sb_thread;

/* After the VM and its first vCPU exist (start, forked child): hands the backend the calls
 * the policy allows with no condition and the monitor performs as made; on: not
 * --no-kernel-syscalls. p->kc_on says whether the backend took it. */
void kc_setup(struct sb_proc *p, bool on);
/* Before each run of t's vCPU: the fast path only while t is the process's one thread, with
 * no tracer, no --trace and no vfork child on the address space. */
void kc_before_run(struct sb_thread *t);
/* After each run: the calls the backend performed, into the stats (kernel_syscalls). */
void kc_fold(struct sb_thread *t);

#endif
