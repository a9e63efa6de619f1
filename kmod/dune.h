/* Internal interface of the Dune module: main.c (device, permissions, counters), vm.c (a VM
 * bound to one process's mm: slots, nested page table, MMU notifier), vcpu.c (vCPU descriptor,
 * run loop, FPU) and what they need from a hardware backend: svm.c (AMD SVM) or vmx.c (Intel
 * VT-x). */
#ifndef DUNE_KMOD_H
#define DUNE_KMOD_H

#include <linux/atomic.h>
#include <linux/cpumask.h>
#include <linux/fs.h>
#include <linux/list.h>
#include <linux/mmu_notifier.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <asm/fpu/api.h>
#include <dune/dune.h>

/* Counters shown under /sys/class/dune/dune/ (read-only): what the module holds right now. */
struct dune_stats {
	atomic64_t open_files;     /* open /dev/dune file descriptions */
	atomic64_t cpu_pages;      /* per-CPU pages: SVM host save areas and host VMCBs, VMXON regions */
	atomic64_t cpus_enabled;   /* CPUs with SVM/VMX switched on by this module */
	atomic64_t vms;            /* live VMs */
	atomic64_t vcpus;          /* live vCPUs */
	atomic64_t table_pages;    /* nested page-table pages */
	atomic64_t mapped_pages;   /* process pages referenced by a nested page table */
	atomic64_t asids;          /* address-space ids in use */
	atomic64_t vcpu_pages;     /* VMCBs/VMCSs and run pages */
	atomic64_t kernel_syscalls; /* calls performed by the fast path since load (syscall.c) */
};

/* One VM: the process (mm) that created it, never another. */
struct dune_vm {
	struct mm_struct *mm;         /* held with mmgrab: the struct, not the address space */
	struct mmu_notifier mn;
	spinlock_t lock;              /* the table below, the slots, the vCPU list, mmu_seq */
	u64 *root;                    /* nested page table, kernel address */
	int levels;                   /* its depth: 4, or 5 (SVM under a 5-level host) */
	unsigned long mmu_seq;        /* bumped by every invalidation */
	int invalidating;             /* invalidations in progress */
	bool dead;                    /* the mm went away: no more runs */
	struct dune_slot *slots;      /* sorted by gpa, non-overlapping */
	int nslots;
	struct list_head vcpus;
	cpumask_var_t ipi_mask;
	u32 asid;
	struct dune_stats *stats;
	struct dune_sc *sc;           /* the fast path's table (syscall.c), or NULL */
};

#define DUNE_GPR_RAX 0
#define DUNE_GPR_RCX 1
#define DUNE_GPR_RDX 2
#define DUNE_GPR_RBX 3
#define DUNE_GPR_RSP 4
#define DUNE_GPR_RBP 5
#define DUNE_GPR_RSI 6
#define DUNE_GPR_RDI 7
#define DUNE_NGPRS 16

struct dune_vcpu {
	struct dune_vm *vm;
	struct file *vm_file;         /* the vCPU keeps its VM alive */
	struct mutex run_lock;        /* one DUNE_RUN (or state access) at a time */
	struct dune_run *run;         /* the shared run page */
	struct fpu_guest fpu;
	u32 pkru;
	int in_guest;                 /* the CPU this vCPU is in guest mode on, or -1 */
	int last_cpu;
	struct list_head node;
	u64 gprs[DUNE_NGPRS];         /* x86 encoding order; rsp lives in the VMCB/VMCS, and rax
				       * in the VMCB on SVM (VT-x has no rax field) */
	void *arch;                   /* the backend's per-vCPU state */
};

enum dune_x {
	DUNE_X_INTR,     /* a host interrupt (or NMI, SMI, INIT): handled, run again */
	DUNE_X_NPF,      /* nested page fault at gpa */
	DUNE_X_IO,
	DUNE_X_SHUTDOWN,
	DUNE_X_ERROR,
};

struct dune_exit {
	enum dune_x kind;
	u64 gpa;
	bool write, fetch;
	u16 port;
	u64 code, info1, info2;
};

/* A nested leaf mapping a page the module holds no reference on (a reserved page of a
 * VM_PFNMAP mapping, e.g. the vDSO's data): bit 11 is ignored by NPT and EPT walks. */
#define DUNE_PTE_NOREF (1ULL << 11)

struct dune_backend {
	const char *name;
	/* 0 when this CPU can run the backend; otherwise a negative errno after a pr_err saying
	 * why (no SVM/VMX, no NPT/EPT, disabled by the firmware). */
	int (*probe)(void);
	/* Per CPU, on that CPU (CPU hotplug callbacks): switch virtualization on or off.
	 * cpu_on fails with -EBUSY when another hypervisor already holds the CPU. */
	int (*cpu_on)(unsigned int cpu);
	int (*cpu_off)(unsigned int cpu);
	/* Module-lifetime state (per-CPU areas), before the first cpu_on / after the last cpu_off. */
	int (*init)(struct dune_stats *stats);
	void (*exit)(void);
	/* Nested page-table depth and entries (NPT or EPT format). */
	int (*levels)(void);
	u64 (*pte_table)(phys_addr_t pa);
	u64 (*pte_leaf)(phys_addr_t pa, bool writable);
	bool (*pte_present)(u64 pte);
	bool (*pte_writable)(u64 pte);
	/* Per VM (address-space id) and per vCPU (VMCB/VMCS). */
	int (*vm_init)(struct dune_vm *vm);
	void (*vm_free)(struct dune_vm *vm);
	int (*vcpu_init)(struct dune_vcpu *v);
	void (*vcpu_free)(struct dune_vcpu *v);
	/* Register state in KVM's layouts; set_state refuses (-EINVAL) what cannot be entered. */
	int (*set_state)(struct dune_vcpu *v, const struct kvm_regs *r, const struct kvm_sregs *s);
	void (*get_state)(struct dune_vcpu *v, struct kvm_regs *r, struct kvm_sregs *s);
	int (*set_msr)(struct dune_vcpu *v, u32 index, u64 value);
	/* Drop a pending event re-injection (user space rewrote the registers). */
	void (*cancel_event)(struct dune_vcpu *v);
	/* Before each entry, with preemption disabled and interrupts still enabled: make the
	 * vCPU's hardware state current on this CPU (VT-x: VMCLEAR it by IPI on the CPU where it
	 * was active, then VMPTRLD here). NULL when there is nothing to do (SVM). */
	void (*load)(struct dune_vcpu *v);
	/* One entry and exit, with interrupts disabled by the caller. */
	void (*enter)(struct dune_vcpu *v, struct dune_exit *x);
};

extern const struct dune_backend dune_svm_backend;
extern const struct dune_backend dune_vmx_backend;

/* main.c */
const struct dune_backend *dune_backend(void);
/* True once a reboot, halt or power-off has begun: the hardware is being switched off. */
bool dune_rebooting(void);

/* vm.c */
int dune_vm_create(struct dune_stats *stats);
int dune_vm_fault(struct dune_vm *vm, u64 gpa, bool write);
bool dune_vm_is_vm_file(struct file *file);
bool dune_vm_hva(struct dune_vm *vm, u64 gpa, unsigned long *hva);

/* vcpu.c */
int dune_vcpu_create(struct dune_vm *vm, struct file *vm_file);
/* The general registers in gprs[] (what svm_run.S/vmx_run.S load and save), from and into
 * KVM's layout; RSP (and on SVM RAX) live in the VMCB/VMCS, which the backend handles. */
void dune_gprs_set(struct dune_vcpu *v, const struct kvm_regs *r);
void dune_gprs_get(const struct dune_vcpu *v, struct kvm_regs *r);

#endif
