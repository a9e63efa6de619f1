/* Hardware-backend interface: what the monitor needs from a virtualization
 * provider. KVM (/dev/kvm, kvm.c) and the Dune module (/dev/dune, kmod.c and
 * ../kmod/) implement it. Register state uses the KVM uapi layouts as the
 * common format. */
#ifndef DUNE_BACKEND_H
#define DUNE_BACKEND_H

#include <linux/kvm.h>
#include <stdint.h>

enum hw_exit {
	HW_EXIT_FETCH,    /* fetch from a guest-physical address outside every slot */
	HW_EXIT_INTR,     /* a host signal (or a kick) interrupted the run */
	HW_EXIT_EFAULT,   /* guest touched a slot address the host cannot back */
	HW_EXIT_SHUTDOWN, /* triple fault */
	HW_EXIT_IO,       /* port I/O (used by the exit-path benchmark) */
	HW_EXIT_MMIO,     /* data access outside every slot */
	HW_EXIT_ERROR,
	HW_EXIT_SYSCALL,  /* the backend performed the guest's syscall itself and a signal
			   * interrupted it: the guest is at the syscall exit, the result to
			   * finish with is syscall_result() */
};

/* The in-kernel syscall fast path (the module only): calls the backend may perform without an
 * exit, the guest's syscall entry and the segments a return loads, and the monitor's
 * descriptors besides the backend's own. */
struct hw_kernel_calls {
	uint64_t allow[8]; /* bit n: call n (n < 512) */
	uint64_t entry;
	struct kvm_segment cs, ss;
	int monitor_fds[8]; /* -1: none */
	int getpid_sites;   /* getpid from a `mov $39,%eax; syscall` site exits (fastcall.h rewrites it) */
};

struct hw_vm;
struct hw_vcpu;

struct hw_msr { uint32_t index; uint64_t value; };

struct hw_ops {
	const char *name;
	/* dev_fd: an open /dev/kvm (or module device) to use, or -1 to open
	 * it (an inherited fd keeps working after pivot_root). */
	int (*vm_create)(struct hw_vm **out, int dev_fd);
	/* A fresh VM in a forked child (KVM binds a VM to its creator's mm),
	 * on the parent's device and reusing what it learned about the host. */
	int (*vm_fork)(const struct hw_vm *parent, struct hw_vm **out);
	void (*vm_destroy)(struct hw_vm *vm);
	/* Map guest-physical [gpa, gpa+size) to host virtual hva. */
	int (*add_slot)(struct hw_vm *vm, uint64_t gpa, uint64_t size, uint64_t hva);
	/* Drop every cached translation (after page-table edits the hardware
	 * or hypervisor cannot see). */
	int (*flush_all)(struct hw_vm *vm);
	int (*vcpu_create)(struct hw_vm *vm, struct hw_vcpu **out);
	void (*vcpu_destroy)(struct hw_vcpu *v);
	int (*vcpu_setup)(struct hw_vcpu *v, const struct kvm_sregs *s,
			  const struct kvm_regs *r, const struct hw_msr *msrs, int nmsrs);
	enum hw_exit (*vcpu_run)(struct hw_vcpu *v);
	/* Live register views: valid after a run, written back on the next run
	 * once marked dirty. */
	struct kvm_regs *(*regs)(struct hw_vcpu *v);
	struct kvm_sregs *(*sregs)(struct hw_vcpu *v);
	void (*mark_dirty)(struct hw_vcpu *v, int regs, int sregs);
	/* Async-signal-safe: the current or next run returns HW_EXIT_INTR. */
	void (*kick)(struct hw_vcpu *v);
	void (*unkick)(struct hw_vcpu *v);
	int (*get_xsave)(struct hw_vcpu *v, void *buf4096);
	int (*set_xsave)(struct hw_vcpu *v, const void *buf4096);
	/* Details of the last HW_EXIT_IO/HW_EXIT_MMIO exit. */
	uint64_t (*exit_addr)(struct hw_vcpu *v);
	/* File descriptors the backend holds (the guest must not touch them). */
	int (*fds)(struct hw_vm *vm, int *out, int max);
	int (*vcpu_fd)(struct hw_vcpu *v);
	/* The in-kernel syscall fast path; NULL when the backend has none (KVM). set_kernel_calls
	 * once per VM; allow_kernel_calls before each run (0: every call exits); take_kernel_calls:
	 * calls performed in the backend since the last take; syscall_result after
	 * HW_EXIT_SYSCALL. */
	int (*set_kernel_calls)(struct hw_vm *vm, const struct hw_kernel_calls *t);
	void (*allow_kernel_calls)(struct hw_vcpu *v, int on);
	uint64_t (*take_kernel_calls)(struct hw_vcpu *v);
	long (*syscall_result)(struct hw_vcpu *v);
};

extern const struct hw_ops hw_kvm_ops;
extern const struct hw_ops hw_kmod_ops;

/* The Dune module when /dev/dune exists, else KVM. */
const struct hw_ops *hw_default_ops(void);

#endif
