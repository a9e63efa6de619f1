/* libdune public API: privileged CPU features for ordinary processes,
 * after Belay et al., "Dune: Safe User-level Access to Privileged CPU
 * Features" (OSDI 2012), on KVM.
 *
 * Model: guest-physical == host-virtual. A VM's page tables map host
 * addresses to themselves; code runs in guest ring 3 and every system call,
 * page fault or exception exits to the calling thread (the monitor), which
 * runs the registered handler in host context. Guest ring 0 is never used
 * for work (it is emulated on some hosts and costs ~1 us per instruction). */
#ifndef DUNE_H
#define DUNE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct dune_vm;
struct dune_vcpu;

/* Mapping permissions. */
#define DUNE_PERM_R 0x1
#define DUNE_PERM_W 0x2
#define DUNE_PERM_X 0x4
#define DUNE_PERM_BIG 0x10 /* 2 MiB pages (addresses and length 2 MiB aligned) */

/* Page-table entry bits as seen by dune_vm_lookup/dune_vm_walk. */
#define DUNE_PTE_P (1ull << 0)
#define DUNE_PTE_W (1ull << 1)
#define DUNE_PTE_U (1ull << 2)
#define DUNE_PTE_A (1ull << 5)
#define DUNE_PTE_D (1ull << 6)
#define DUNE_PTE_PS (1ull << 7)
#define DUNE_PTE_NX (1ull << 63)
#define DUNE_PTE_ADDR 0x000ffffffffff000ull

/* Register state of a ring-3 context. */
struct dune_tf {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp, rsp;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rip, rflags, fs_base, gs_base;
};

/* Handlers return DUNE_RESUME to continue the guest (after editing tf) or
 * DUNE_STOP to make dune_jump_to_user return. */
enum { DUNE_RESUME = 0, DUNE_STOP = 1 };

typedef int (*dune_syscall_cb)(struct dune_vcpu *v, struct dune_tf *tf, void *arg);
/* fec: x86 page-fault error code (bit 0 present, 1 write, 2 user, 4 fetch). */
typedef int (*dune_pgflt_cb)(struct dune_vcpu *v, struct dune_tf *tf, uintptr_t addr, uint64_t fec, void *arg);
typedef int (*dune_trap_cb)(struct dune_vcpu *v, struct dune_tf *tf, int vector, uint64_t error_code, void *arg);
typedef int (*dune_walk_cb)(void *arg, uintptr_t va, uint64_t *pte, int level);

/* VM lifecycle (KVM backend). Returns 0 or -errno. */
int dune_vm_create(struct dune_vm **out);
void dune_vm_destroy(struct dune_vm *vm);

/* Guest page tables. va must be page aligned; the host memory must stay
 * mapped while the guest can reach it. 4K pages unless DUNE_PERM_BIG. */
int dune_vm_map(struct dune_vm *vm, void *va, size_t len, int perm);
int dune_vm_unmap(struct dune_vm *vm, void *va, size_t len);
int dune_vm_protect(struct dune_vm *vm, void *va, size_t len, int perm);
/* Leaf entry for va (NULL if unmapped); *level = 1 (4K) or 2 (2M). The
 * entry may be read and its A/D bits cleared; call dune_vm_flush after
 * clearing bits or editing entries directly. */
uint64_t *dune_vm_lookup(struct dune_vm *vm, const void *va, int *level);
int dune_vm_walk(struct dune_vm *vm, const void *start, const void *end, dune_walk_cb cb, void *arg);
/* Make the hypervisor re-read edited page tables (shadow paging). */
int dune_vm_flush(struct dune_vm *vm);

/* Page allocator: zeroed 4K pages mapped read-write for the guest. */
void *dune_page_alloc(struct dune_vm *vm);
void dune_page_free(struct dune_vm *vm, void *page);

/* ELF loading: map an x86-64 ELF (and its interpreter) and build a stack
 * with argv/envp/auxv; tf is ready for dune_jump_to_user. */
int dune_elf_load(struct dune_vm *vm, const char *path, char *const argv[], char *const envp[],
		  struct dune_tf *tf);

/* vCPUs: one per host thread. Handlers are per vCPU. */
int dune_vcpu_create(struct dune_vm *vm, struct dune_vcpu **out);
void dune_vcpu_destroy(struct dune_vcpu *v);
void dune_register_syscall_handler(struct dune_vcpu *v, dune_syscall_cb cb, void *arg);
void dune_register_pgflt_handler(struct dune_vcpu *v, dune_pgflt_cb cb, void *arg);
void dune_register_trap_handler(struct dune_vcpu *v, dune_trap_cb cb, void *arg);
/* Run tf in ring 3 until a handler returns DUNE_STOP (tf then holds the
 * state). Without a syscall handler, system calls are performed on the
 * host unchanged (arch_prctl(ARCH_SET_FS/GS) sets tf's bases instead);
 * memory calls are not mirrored: a handler that lets the guest map memory
 * calls dune_vm_map itself. Returns 0, or -errno if the vCPU failed. */
int dune_jump_to_user(struct dune_vcpu *v, struct dune_tf *tf);

/* Enter Dune mode: the calling thread continues in guest ring 3 with the
 * process's whole address space mapped; system calls are performed by a
 * monitor on a private stack (memory calls mirrored into the page tables),
 * faults go to the handlers registered on dune_current() (default: the
 * process dies with SIGSEGV). Single-threaded callers only: clone and fork
 * return ENOSYS in Dune mode. Returns 0 inside Dune mode, -errno if it
 * could not enter. */
int dune_enter(void);
struct dune_vcpu *dune_current(void);
struct dune_vm *dune_vcpu_vm(struct dune_vcpu *v);

/* Counters. */
uint64_t dune_vcpu_exits(struct dune_vcpu *v);

#ifdef __cplusplus
}
#endif

#endif
