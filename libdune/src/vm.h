/* The Dune VM: guest page tables, descriptor tables, memslots and vCPUs.
 * Guest-physical == host-virtual for all program memory, so the guest page
 * tables are an identity map of the pages the program owns (user bit set)
 * plus a supervisor-only system area in the upper half. */
#ifndef DUNE_VM_H
#define DUNE_VM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "backend.h"
#include "region.h"

#define PAGE_SIZE 4096ull
#define PAGE_DOWN(x) ((uint64_t)(x) & ~(PAGE_SIZE - 1))
#define PAGE_UP(x) (((uint64_t)(x) + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1))
#define HUGE_SIZE (2ull << 20)

/* Page-table entry bits. */
#define PTE_P (1ull << 0)
#define PTE_W (1ull << 1)
#define PTE_U (1ull << 2)
#define PTE_A (1ull << 5)
#define PTE_D (1ull << 6)
#define PTE_PS (1ull << 7)
#define PTE_NX (1ull << 63)
/* Ignored by the CPU (an available bit): a page ring 3 may see that is not the program's
 * memory (the fast-call area, the vDSO). The Dune module's in-kernel fast path performs no call
 * with a buffer there (DUNE_PTE_NOT_PROGRAM, kmod/syscall.c); the monitor's own checks refuse
 * it by its region list. */
#define PTE_MONITOR (1ull << 9)
#define PTE_ADDR 0x000ffffffffff000ull

/* Guest-virtual layout of the system area (never reachable from ring 3). */
#define SYS_VA 0xffffff8000000000ull  /* IDT, per-vCPU GDT+TSS, ring-0 stacks */
#define EXIT_VA 0xffffff8040000000ull /* exception and syscall entry points */
#define EXIT_GPA 0x1000ull /* below mmap_min_addr: never in a memslot, fetching exits */
#define SLOT_MIN 0x10000ull /* memslots never start below this */
#define EXIT_SYSCALL_OFF 0x800        /* LSTAR = EXIT_VA + this; vector v at EXIT_VA + 8v */

#define SYS_AREA_SIZE HUGE_SIZE
#define ARENA_SIZE (64ull << 20)
#define MAX_VCPUS 250

#define SEL_KCODE 0x08
#define SEL_KDATA 0x10
#define SEL_UDATA 0x1b
#define SEL_UCODE 0x23
#define SEL_TSS 0x28

struct dune_vcpu;
struct dune_vm;

/* A pager above the VM (the sandbox's fault-around, fault_around.h) that leaves some pages
 * of anonymous mappings not present and maps them when the program touches them. The VM
 * owns this interface and tells the pager what the program maps and unmaps (vm->lock held);
 * the pager is never called back into from below otherwise. All NULL: no pager. */
struct vm_pager {
	/* Whether a fresh anonymous private mapping of len bytes with prot gets lazy pages; its
	 * entries are then written without the accessed and dirty bits. */
	bool (*wants)(void *ctx, uint64_t len, int prot);
	/* Such a mapping is now mirrored at [start, start+len): leave its lazy pages out. */
	void (*plant)(void *ctx, struct dune_vm *vm, uint64_t start, uint64_t len);
	/* [start, start+len) is mapped in full, or gone: no lazy pages there any more. */
	void (*forget)(void *ctx, uint64_t start, uint64_t len);
	/* The VM is destroyed. */
	void (*release)(void *ctx);
	void *ctx;
};

struct dune_vm {
	const struct hw_ops *hw;
	struct hw_vm *hw_vm;
	uint8_t *arena;         /* system area + page-table pool, one memslot */
	uint64_t arena_used;
	uint64_t *pml4;
	pthread_mutex_t lock;   /* page tables, regions, slots, vCPU indices */
	struct region_map owned; /* the program's memory */
	struct region_map slots; /* guest-physical ranges covered by memslots */
	bool cpu_used[MAX_VCPUS];
	/* Every vCPU made for this VM, by system-area index. KVM frees a vCPU
	 * only with its VM, so an ended thread's vCPU (!cpu_used) is kept for
	 * the next thread instead of making another. */
	struct dune_vcpu *vcpus[MAX_VCPUS];
	struct vm_pager pager;   /* lazy anonymous pages (the sandbox's fault-around), or none */
	void *user;             /* owner's per-VM data (the sandbox process) */
};

/* Why dune_vcpu_run returned. */
enum dune_event {
	EV_SYSCALL,   /* regs: rax = number; return state already set to the caller */
	EV_EXCEPTION, /* vector, error code, cr2 (#PF); regs = faulting ring-3 state */
	EV_INTERRUPT, /* host signal or kick */
	EV_MEMFAULT,  /* host could not back a guest access */
	EV_FATAL,
	EV_SYSCALL_DONE, /* as EV_SYSCALL, but the backend performed it: result in kernel_ret */
};

struct dune_vcpu {
	struct dune_vm *vm;
	struct hw_vcpu *hw;
	int index;
	uint64_t exits;
	bool dirty; /* state edited since the last run: checked before the next entry */
	/* Last exception. */
	int vector;
	uint64_t error_code, cr2;
	long kernel_ret; /* EV_SYSCALL_DONE: the call's result */
	void *user; /* owner's per-vCPU data */
};

int vm_create(struct dune_vm **out, const struct hw_ops *hw, int dev_fd);
void vm_destroy(struct dune_vm *vm);
/* In a forked child: a fresh backend VM over the same (copied) memory. */
int vm_rebuild_after_fork(struct dune_vm *vm);

/* Page tables (vm->lock held). flags: PTE_W/PTE_U/PTE_NX etc. */
int pt_map(struct dune_vm *vm, uint64_t va, uint64_t pa, uint64_t len, uint64_t flags);
int pt_map_huge(struct dune_vm *vm, uint64_t va, uint64_t pa, uint64_t len, uint64_t flags);
void pt_unmap(struct dune_vm *vm, uint64_t va, uint64_t len);
void pt_protect(struct dune_vm *vm, uint64_t va, uint64_t len, uint64_t flags);
/* Leaf entry for va (NULL if none); *level = 1 for 4K, 2 for 2M. */
uint64_t *pt_lookup(struct dune_vm *vm, uint64_t va, int *level);
typedef int (*pt_walk_fn)(void *arg, uint64_t va, uint64_t *pte, int level);
int pt_walk(struct dune_vm *vm, uint64_t start, uint64_t end, pt_walk_fn fn, void *arg);

/* Memory mirroring: keep page tables, ownership and memslots equal to what
 * the host mapped for the program (vm->lock taken inside). */
uint64_t prot_to_pte(int prot);
int vm_mirror_map(struct dune_vm *vm, uint64_t start, uint64_t len, int prot);
/* Same for an anonymous private mapping: lazy pages when the pager wants them. */
int vm_mirror_map_anon(struct dune_vm *vm, uint64_t start, uint64_t len, int prot);
void vm_mirror_unmap(struct dune_vm *vm, uint64_t start, uint64_t len);
void vm_mirror_protect(struct dune_vm *vm, uint64_t start, uint64_t len, int prot);
/* Make sure memslots cover [start, end) (vm->lock held). */
int vm_cover(struct dune_vm *vm, uint64_t start, uint64_t end);

/* vCPUs. vcpu_create hands out an idle one when there is one (its state
 * is reset by vcpu_enter_user); vcpu_destroy makes v idle. */
int vcpu_create(struct dune_vm *vm, struct dune_vcpu **out);
/* Recreate the backend vCPU for v (after vm_rebuild_after_fork). */
int vcpu_recreate(struct dune_vcpu *v);
void vcpu_destroy(struct dune_vcpu *v);
/* Is fd one of the backend descriptors of this VM's vCPUs (busy or idle)? */
bool vm_is_vcpu_fd(struct dune_vm *vm, int fd);
/* Put v in ring 3 at rip/rsp with fs_base. */
int vcpu_enter_user(struct dune_vcpu *v, uint64_t rip, uint64_t rsp, uint64_t fs_base);
/* Runs v. State the monitor edited is checked first (vcpu_user_state_ok): if
 * it is not a ring-3 program's, the guest is not entered and a #GP (vector 13)
 * is reported instead, as the CPU's iret/sysret would raise. */
enum dune_event vcpu_run(struct dune_vcpu *v);
/* The segments a return to the program loads (what sysret would). */
void vm_user_segments(struct kvm_segment *cs, struct kvm_segment *ss);
#define USER_VA_END 0x800000000000ull /* first address above the lower canonical half */
/* RIP, fs/gs base user addresses, RSP canonical, CS/SS the user selectors
 * (DPL 3), RFLAGS only user-settable bits with IF and bit 1 set. */
bool vcpu_user_state_ok(const struct kvm_regs *r, const struct kvm_sregs *s);
struct kvm_regs *vcpu_regs(struct dune_vcpu *v);
struct kvm_sregs *vcpu_sregs(struct dune_vcpu *v);
void vcpu_dirty(struct dune_vcpu *v, int regs, int sregs);

#endif
