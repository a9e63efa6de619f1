/* The in-kernel syscall fast path (syscall.c): a guest `syscall` the monitor's policy allows
 * unconditionally and the module knows to be safe is performed in DUNE_RUN's own context and
 * the guest resumes without a return to user space. */
#ifndef DUNE_KMOD_SYSCALL_H
#define DUNE_KMOD_SYSCALL_H

#include <linux/types.h>
#include <dune/dune.h>

struct dune_vm;
struct dune_vcpu;

/* What dune_syscall_fast decided. */
#define DUNE_SC_RESUMED 0 /* performed: enter the guest again */
#define DUNE_SC_EXIT 1    /* performed and interrupted: run->exit_reason = DUNE_EXIT_SYSCALL */
#define DUNE_SC_MONITOR 2 /* not performed: the usual FETCH exit to the monitor */

/* At module load: resolves the kernel's per-call entry points (0, or a negative errno when
 * none could be resolved; the fast path is then off and the module works without it). */
int dune_syscall_init(void);
/* DUNE_SET_SYSCALLS: validates and installs the VM's table (once). */
long dune_syscall_set(struct dune_vm *vm, const void __user *arg);
/* Frees the VM's table (VM release). */
void dune_syscall_free(struct dune_vm *vm);
/* A fetch exit outside every slot: the fast path, if this is a syscall it may perform.
 * DUNE_SC_*, or a negative -ERESTART* code DUNE_RUN returns (with DUNE_EXIT_SYSCALL set), so
 * that the kernel restarts or interrupts DUNE_RUN as it would the monitor's own call. */
int dune_syscall_fast(struct dune_vcpu *v);

#endif
